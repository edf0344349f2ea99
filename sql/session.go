package sql

import "strings"

// PostgreSQL's session statements, which drivers send on their own (JDBC's
// SET extra_float_digits, a pool's BEGIN/COMMIT, SHOW server_version).
// They are accepted beside ksqlDB's SET 'name' = 'value'.

// pgSet parses SET [SESSION|LOCAL] name {=|TO} value[, value...], SET
// TIME ZONE value, SET TRANSACTION modes and SET SESSION CHARACTERISTICS
// AS TRANSACTION modes. The cursor is after SET.
func (p *parser) pgSet(start int) (Statement, error) {
	if p.accept("SESSION") {
		if p.peek().is("CHARACTERISTICS") && p.peekN(1).is("AS") {
			p.i += 2
			return p.setTransaction(start, true)
		}
	} else {
		p.accept("LOCAL")
	}
	if p.peek().is("TRANSACTION") && !p.peekN(1).isOp("=") && !p.peekN(1).is("TO") {
		return p.setTransaction(start, false)
	}
	s := &Set{}
	if p.peek().is("TIME") && p.peekN(1).is("ZONE") {
		p.i += 2
		s.Name = "timezone"
	} else {
		name, err := p.settingName()
		if err != nil {
			return nil, err
		}
		s.Name = name
		if !p.acceptOp("=") && !p.accept("TO") {
			return nil, p.unexpected("'=' or TO")
		}
	}
	var vals []string
	for {
		v, err := p.settingValue()
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		if !p.acceptOp(",") {
			break
		}
	}
	s.Value = strings.Join(vals, ", ")
	s.text = p.textFrom(start)
	return s, nil
}

// settingName reads a setting name: words joined by '.', lower-case (as
// PostgreSQL folds them).
func (p *parser) settingName() (string, error) {
	var parts []string
	for {
		t := p.peek()
		if !t.isName() {
			return "", p.unexpected("a setting name")
		}
		p.i++
		if t.kind == tkQIdent {
			parts = append(parts, t.val)
		} else {
			parts = append(parts, strings.ToLower(t.text))
		}
		if !p.acceptOp(".") {
			return strings.Join(parts, "."), nil
		}
	}
}

// settingValue reads a string, a number or a bare word (DEFAULT, on).
func (p *parser) settingValue() (string, error) {
	if t := p.peek(); t.kind == tkIdent {
		p.i++
		return t.text, nil
	}
	return p.literal("a setting value")
}

// reset parses RESET name | RESET ALL.
func (p *parser) reset() (Statement, error) {
	start := p.i
	p.next()
	if p.accept("ALL") {
		return &Unset{text: p.textFrom(start), All: true}, nil
	}
	name, err := p.settingName()
	if err != nil {
		return nil, err
	}
	return &Unset{text: p.textFrom(start), Name: name}, nil
}

// showVariable parses SHOW name [words...] | SHOW ALL; the cursor is on
// the name (after ALL when all is set).
func (p *parser) showVariable(start int, all bool) (Statement, error) {
	var words []string
	if all {
		words = append(words, "all")
	}
	for p.peek().kind == tkIdent {
		words = append(words, strings.ToLower(p.next().text))
	}
	if len(words) == 0 {
		return nil, p.unexpected("STREAMS, TABLES, QUERIES, TOPICS, PROPERTIES, FUNCTIONS or a setting name")
	}
	return &ShowVariable{text: p.textFrom(start), Name: strings.Join(words, " ")}, nil
}

// transaction parses PostgreSQL's transaction statements:
//
//	BEGIN [WORK|TRANSACTION] [modes]       START TRANSACTION [modes]
//	COMMIT|END [WORK|TRANSACTION] [AND [NO] CHAIN]
//	ROLLBACK|ABORT [WORK|TRANSACTION] [AND [NO] CHAIN]
//	ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name
//	SAVEPOINT name                         RELEASE [SAVEPOINT] name
func (p *parser) transaction() (Statement, error) {
	start := p.i
	t := p.next()
	tx := &Transaction{}
	switch {
	case t.is("BEGIN"), t.is("START"):
		tx.Kind, tx.Verb = TxnBegin, "BEGIN"
		if t.is("START") {
			if err := p.expect("TRANSACTION"); err != nil {
				return nil, err
			}
		} else if !p.accept("WORK") {
			p.accept("TRANSACTION")
		}
		modes, err := p.txnModes(false)
		if err != nil {
			return nil, err
		}
		tx.Modes = modes
	case t.is("COMMIT"), t.is("END"), t.is("ROLLBACK"), t.is("ABORT"):
		tx.Kind, tx.Verb = TxnCommit, "COMMIT"
		if t.is("ROLLBACK") || t.is("ABORT") {
			tx.Kind, tx.Verb = TxnRollback, "ROLLBACK"
		}
		if !p.accept("WORK") {
			p.accept("TRANSACTION")
		}
		if t.is("ROLLBACK") && p.accept("TO") {
			p.accept("SAVEPOINT")
			name, err := p.name("a savepoint name")
			if err != nil {
				return nil, err
			}
			tx.Kind, tx.Savepoint = TxnRollbackTo, name
			break
		}
		if p.accept("AND") {
			tx.Chain = !p.accept("NO")
			if err := p.expect("CHAIN"); err != nil {
				return nil, err
			}
		}
	case t.is("SAVEPOINT"), t.is("RELEASE"):
		tx.Kind, tx.Verb = TxnSavepoint, "SAVEPOINT"
		if t.is("RELEASE") {
			tx.Kind, tx.Verb = TxnRelease, "RELEASE"
			p.accept("SAVEPOINT")
		}
		name, err := p.name("a savepoint name")
		if err != nil {
			return nil, err
		}
		tx.Savepoint = name
	}
	tx.text = p.textFrom(start)
	return tx, nil
}

// setTransaction parses the rest of SET TRANSACTION modes or SET SESSION
// CHARACTERISTICS AS TRANSACTION modes; the cursor is on TRANSACTION.
func (p *parser) setTransaction(start int, session bool) (Statement, error) {
	if err := p.expect("TRANSACTION"); err != nil {
		return nil, err
	}
	modes, err := p.txnModes(true)
	if err != nil {
		return nil, err
	}
	return &Transaction{text: p.textFrom(start), Kind: TxnSetModes, Verb: "SET", Modes: modes, Session: session}, nil
}

// isolationLevels are the levels of ISOLATION LEVEL, as word sequences.
var isolationLevels = [][]string{
	{"SERIALIZABLE"}, {"REPEATABLE", "READ"}, {"READ", "COMMITTED"}, {"READ", "UNCOMMITTED"},
}

// txnModes parses transaction modes, separated by commas or spaces:
// ISOLATION LEVEL level, READ ONLY, READ WRITE, [NOT] DEFERRABLE (read
// and ignored, as it only matters to serializable read-only
// transactions). At least one is required when need is set.
func (p *parser) txnModes(need bool) (TxnModes, error) {
	var m TxnModes
	n := 0
	for {
		if n > 0 {
			p.acceptOp(",")
		}
		t := p.peek()
		switch {
		case t.is("ISOLATION"):
			p.next()
			if err := p.expect("LEVEL"); err != nil {
				return m, err
			}
			found := false
			for _, words := range isolationLevels {
				ok := true
				for k, w := range words {
					if !p.peekN(k).is(w) {
						ok = false
						break
					}
				}
				if ok {
					p.i += len(words)
					m.Isolation = strings.ToLower(strings.Join(words, " "))
					found = true
					break
				}
			}
			if !found {
				return m, p.unexpected("SERIALIZABLE, REPEATABLE READ, READ COMMITTED or READ UNCOMMITTED")
			}
		case t.is("READ") && p.peekN(1).is("ONLY"), t.is("READ") && p.peekN(1).is("WRITE"):
			m.ReadOnly, m.ReadOnlySet = p.peekN(1).is("ONLY"), true
			p.i += 2
		case t.is("DEFERRABLE"):
			p.next()
		case t.is("NOT") && p.peekN(1).is("DEFERRABLE"):
			p.i += 2
		default:
			if n == 0 && need {
				return m, p.unexpected("ISOLATION LEVEL, READ ONLY, READ WRITE or DEFERRABLE")
			}
			if n > 0 && p.toks[p.i-1].isOp(",") {
				return m, p.unexpected("a transaction mode")
			}
			return m, nil
		}
		n++
	}
}
