package sql

import "strings"

// PostgreSQL's session statements, which drivers send on their own (JDBC's
// SET extra_float_digits, a pool's BEGIN/COMMIT, SHOW server_version).
// They are accepted beside ksqlDB's SET 'name' = 'value'.

// pgSet parses SET [SESSION|LOCAL] name {=|TO} value[, value...] and
// SET TIME ZONE value. The cursor is after SET.
func (p *parser) pgSet(start int) (Statement, error) {
	if !p.accept("SESSION") {
		p.accept("LOCAL")
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

// transaction parses BEGIN [WORK|TRANSACTION] [modes...], START
// TRANSACTION [modes...], COMMIT|END [WORK|TRANSACTION], ROLLBACK|ABORT
// [WORK|TRANSACTION]. Transaction modes are read and ignored.
func (p *parser) transaction() (Statement, error) {
	start := p.i
	t := p.next()
	verb := "BEGIN"
	switch {
	case t.is("START"):
		if err := p.expect("TRANSACTION"); err != nil {
			return nil, err
		}
	case t.is("COMMIT"), t.is("END"):
		verb = "COMMIT"
	case t.is("ROLLBACK"), t.is("ABORT"):
		verb = "ROLLBACK"
	}
	for p.peek().kind == tkIdent || p.peek().isOp(",") {
		p.i++
	}
	return &Transaction{text: p.textFrom(start), Verb: verb}, nil
}
