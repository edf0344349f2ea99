package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// This file holds COPY's data formats, PostgreSQL's text, CSV and binary
// formats: their options and checks, rows written in them (COPY TO) and
// rows read from them (COPY FROM). copy.go runs the protocol.

// CopyFormat is the format of COPY data and its options, as COPY's WITH
// (...) gives them. The zero value is the text format with its defaults.
// Validate checks a format and settles its defaults; the server validates
// every format it is given.
type CopyFormat struct {
	// Format is "text" (the default when empty), "csv" or "binary".
	Format string
	// Header is a first line of column names (text and CSV): written by
	// COPY TO, skipped by COPY FROM.
	Header bool
	// HeaderMatch (COPY FROM, HEADER MATCH) requires the header line to
	// name the columns, in order.
	HeaderMatch bool
	// Delimiter separates columns: one single-byte character. Default:
	// a tab in text, a comma in CSV.
	Delimiter string
	// Null is the string that stands for NULL when NullSet. Default: \N
	// in text, an unquoted empty string in CSV.
	Null    string
	NullSet bool
	// Quote and Escape are CSV's quoting characters, one single-byte
	// character each. Default: a double quote, and the quote.
	Quote, Escape string

	// Settled by Validate.
	delim, quote, escape byte
	null                 string
	csv, bin, valid      bool
}

// errCopyOption is the sentinel of a COPY option Runnel or PostgreSQL
// refuses.
var errCopyOption = sqlstate.New(sqlstate.InvalidParameter, "server: invalid COPY option")

// Validate checks f by PostgreSQL's rules for COPY TO (from false) or
// COPY FROM (from true) and settles its defaults.
func (f *CopyFormat) Validate(from bool) error {
	switch strings.ToLower(f.Format) {
	case "", "text":
		f.Format = "text"
	case "csv":
		f.Format, f.csv = "csv", true
	case "binary":
		f.Format, f.bin = "binary", true
	default:
		return errCopyOption.Errorf("COPY format %q not recognized", f.Format)
	}
	if f.bin {
		for _, o := range []struct {
			set  bool
			name string
		}{{f.Delimiter != "", "DELIMITER"}, {f.NullSet, "NULL"}, {f.Header, "HEADER"}, {f.Quote != "", "QUOTE"}, {f.Escape != "", "ESCAPE"}} {
			if o.set {
				return sqlstate.Errorf(sqlstate.Syntax, "cannot specify %s in BINARY mode", o.name)
			}
		}
		f.valid = true
		return nil
	}
	if !f.csv && (f.Quote != "" || f.Escape != "") {
		return sqlstate.Errorf(sqlstate.FeatureNotSupported, "COPY QUOTE and ESCAPE are available only in CSV mode")
	}
	if f.HeaderMatch && !from {
		return sqlstate.Errorf(sqlstate.FeatureNotSupported, "cannot use \"match\" with HEADER in COPY TO")
	}
	if f.HeaderMatch {
		f.Header = true
	}
	single := func(what, s string, def byte) (byte, error) {
		if s == "" {
			return def, nil
		}
		if len(s) != 1 {
			return 0, errCopyOption.Errorf("COPY %s must be a single one-byte character", what)
		}
		return s[0], nil
	}
	var err error
	defDelim := byte('\t')
	if f.csv {
		defDelim = ','
	}
	if f.delim, err = single("delimiter", f.Delimiter, defDelim); err != nil {
		return err
	}
	if f.quote, err = single("quote", f.Quote, '"'); err != nil {
		return err
	}
	if f.escape, err = single("escape", f.Escape, f.quote); err != nil {
		return err
	}
	f.null = `\N`
	if f.csv {
		f.null = ""
	}
	if f.NullSet {
		f.null = f.Null
	}
	switch {
	case f.delim == '\n' || f.delim == '\r':
		return errCopyOption.Errorf("COPY delimiter cannot be newline or carriage return")
	case strings.ContainsAny(f.null, "\r\n"):
		return errCopyOption.Errorf("COPY null representation cannot use newline or carriage return")
	case !f.csv && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, f.delim) >= 0:
		return errCopyOption.Errorf("COPY delimiter cannot be %q", string(f.delim))
	case f.csv && f.delim == f.quote:
		return errCopyOption.Errorf("COPY delimiter and quote must be different")
	case strings.IndexByte(f.null, f.delim) >= 0:
		return errCopyOption.Errorf("COPY delimiter must not appear in the NULL specification")
	case f.csv && strings.IndexByte(f.null, f.quote) >= 0:
		return errCopyOption.Errorf("CSV quote character must not appear in the NULL specification")
	}
	f.valid = true
	return nil
}

// code is the format code of CopyInResponse and CopyOutResponse.
func (f *CopyFormat) code() int16 {
	if f.bin {
		return 1
	}
	return 0
}

// binarySignature opens binary COPY data; the flags field and the header
// extension's length (both 0) follow it.
const binarySignature = "PGCOPY\n\xff\r\n\x00"

// appendStart appends what precedes the rows: the binary header, or the
// header line of names.
func (f *CopyFormat) appendStart(dst []byte, cols []types.Column) []byte {
	if f.bin {
		dst = append(dst, binarySignature...)
		return binary.BigEndian.AppendUint64(dst, 0)
	}
	if !f.Header {
		return dst
	}
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, f.delim)
		}
		dst = f.appendField(dst, []byte(c.Name), len(cols) == 1)
	}
	return append(dst, '\n')
}

// appendEnd appends what follows the rows: binary COPY's trailer.
func (f *CopyFormat) appendEnd(dst []byte) []byte {
	if f.bin {
		return binary.BigEndian.AppendUint16(dst, 0xFFFF)
	}
	return dst
}

// appendRow appends one row, with its line end. tmp is scratch space,
// returned for reuse.
func (f *CopyFormat) appendRow(dst, tmp []byte, cols []types.Column, row types.Row) ([]byte, []byte, error) {
	if len(row) != len(cols) {
		return dst, tmp, fmt.Errorf("server: row of %d values for %d columns", len(row), len(cols))
	}
	var err error
	if f.bin {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(cols)))
		for i, v := range row {
			if v.IsNull() {
				dst = binary.BigEndian.AppendUint32(dst, 0xFFFFFFFF)
				continue
			}
			at := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			if dst, err = AppendBinary(dst, cols[i].Type, v); err != nil {
				return dst, tmp, fmt.Errorf("column %s: %w", cols[i].Name, err)
			}
			binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
		}
		return dst, tmp, nil
	}
	for i, v := range row {
		if i > 0 {
			dst = append(dst, f.delim)
		}
		if v.IsNull() {
			dst = append(dst, f.null...)
			continue
		}
		if tmp, err = AppendText(tmp[:0], cols[i].Type, v); err != nil {
			return dst, tmp, fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		dst = f.appendField(dst, tmp, len(cols) == 1)
	}
	return append(dst, '\n'), tmp, nil
}

// appendField appends one value's text, escaped (text) or quoted as
// needed (CSV), as PostgreSQL writes it.
func (f *CopyFormat) appendField(dst, s []byte, single bool) []byte {
	if f.csv {
		// Quote a value that contains a special character, that would
		// read back as NULL, or that is the end-of-data marker alone.
		quote := bytes.Equal(s, []byte(f.null)) || (single && bytes.Equal(s, []byte(`\.`)))
		for _, c := range s {
			if c == f.delim || c == f.quote || c == '\n' || c == '\r' {
				quote = true
				break
			}
		}
		if !quote {
			return append(dst, s...)
		}
		dst = append(dst, f.quote)
		for _, c := range s {
			if c == f.quote || c == f.escape {
				dst = append(dst, f.escape)
			}
			dst = append(dst, c)
		}
		return append(dst, f.quote)
	}
	for _, c := range s {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\v':
			dst = append(dst, '\\', 'v')
		default:
			if c == f.delim {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// copyError is a COPY FROM error located in the data: its Where is
// PostgreSQL's CONTEXT line ("COPY pageviews, line 3, column viewtime:
// "abc""), sent in the ErrorResponse's Where field.
type copyError struct {
	err    error
	target string
	line   int
	column string // "" when the error is about the whole line
	value  string // the offending value or line, cut short
}

func (e *copyError) Error() string { return e.err.Error() }
func (e *copyError) Unwrap() error { return e.err }

// Where is the error's context.
func (e *copyError) Where() string {
	s := fmt.Sprintf("COPY %s, line %d", e.target, e.line)
	if e.column != "" {
		s += ", column " + e.column
	}
	if e.value != "" || e.column != "" {
		s += fmt.Sprintf(": %q", e.value)
	}
	return s
}

// maxContextValue bounds the value quoted in a COPY error's context.
const maxContextValue = 100

func clipValue(b []byte) string {
	if len(b) > maxContextValue {
		return string(b[:maxContextValue]) + "..."
	}
	return string(b)
}

// errBadCopyData is the sentinel of malformed COPY data.
var errBadCopyData = sqlstate.New(sqlstate.BadCopyFileFormat, "server: bad COPY data")

// copyDecoder reads COPY FROM data as it arrives in CopyData messages of
// any size, and hands each complete row to emit. Its memory is the longest
// row (bounded by maxRow) plus one message: rows are decoded as soon as
// they are complete, and the input they used is dropped.
type copyDecoder struct {
	f       *CopyFormat
	cols    []types.Column
	target  string
	maxRow  int
	emitRow func(row types.Row) error

	// buf holds input not yet consumed: the start of the next record.
	buf []byte
	// scan is how far into buf the end of the current record was looked
	// for; quoted and escaped are the CSV scanner's state there.
	scan            int
	quoted, escaped bool
	// line is the number of the last record read (1-based, the header
	// included).
	line int
	// started is set once the header line or the binary header is read;
	// ended once the end-of-data marker (\. or binary's trailer) is.
	started, ended bool
	fields         [][]byte
	nulls          []bool
	unesc          []byte
}

func newCopyDecoder(in *CopyIn, maxRow int, emit func(types.Row) error) *copyDecoder {
	return &copyDecoder{f: &in.Format, cols: in.Columns, target: in.Target, maxRow: maxRow, emitRow: emit}
}

// feed takes one CopyData message's bytes.
func (d *copyDecoder) feed(data []byte) error {
	if d.ended {
		// PostgreSQL ignores whatever follows the end-of-data marker.
		return nil
	}
	d.buf = append(d.buf, data...)
	var err error
	if d.f.bin {
		err = d.binaryRecords(false)
	} else {
		err = d.textRecords(false)
	}
	// Drop what was consumed, keeping the buffer's memory for reuse
	// unless one huge record grew it.
	return err
}

// finish is called at CopyDone: the last record may lack its newline.
func (d *copyDecoder) finish() error {
	if d.ended {
		return nil
	}
	if d.f.bin {
		if err := d.binaryRecords(true); err != nil {
			return err
		}
		// The end of the data may stand for the trailer (pgx sends
		// none), as in PostgreSQL, but not in the middle of a tuple.
		if !d.ended && len(d.buf) > 0 {
			return d.errLine(errBadCopyData.Errorf("unexpected EOF in COPY data"), nil)
		}
		return nil
	}
	return d.textRecords(true)
}

// consume drops the first n bytes of buf.
func (d *copyDecoder) consume(n int) {
	rest := copy(d.buf, d.buf[n:])
	d.buf = d.buf[:rest]
	// A huge record grew the buffer: give the memory back once the
	// records are small again.
	if cap(d.buf) > keepCopyBuffer && rest < cap(d.buf)/4 {
		d.buf = append(make([]byte, 0, max(rest, keepCopyBuffer/2)), d.buf...)
	}
}

// keepCopyBuffer is the input buffer size a COPY keeps between records.
const keepCopyBuffer = 1 << 20

// textRecords reads every complete record of text or CSV data in buf;
// at the end of the data (last) a final record without a newline counts.
func (d *copyDecoder) textRecords(last bool) error {
	off := 0
	defer func() {
		if off > 0 {
			d.consume(off)
		}
	}()
	for !d.ended {
		rec := d.buf[off:]
		end := d.recordEnd(rec)
		next := end + 1
		if end < 0 {
			if len(rec) > d.maxRow {
				d.line++
				return d.errLine(sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
					"COPY row of more than %d bytes is over this server's limit", d.maxRow), rec[:min(len(rec), maxContextValue)])
			}
			if !last || len(rec) == 0 {
				return nil
			}
			if d.f.csv && d.quoted {
				d.line++
				return d.errLine(errBadCopyData.Errorf("unterminated CSV quoted field"), rec)
			}
			end, next = len(rec), len(rec)
		}
		if end > d.maxRow {
			d.line++
			return d.errLine(sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
				"COPY row of more than %d bytes is over this server's limit", d.maxRow), rec[:maxContextValue])
		}
		line := rec[:end]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		off += next
		d.scan, d.quoted, d.escaped = 0, false, false
		d.line++
		if string(line) == `\.` {
			d.ended = true
			return nil
		}
		if !d.started {
			d.started = true
			if d.f.Header {
				if err := d.checkHeader(line); err != nil {
					return err
				}
				continue
			}
		}
		if err := d.textRecord(line); err != nil {
			return err
		}
	}
	return nil
}

// recordEnd returns the index of the newline that ends the record at the
// start of rec, or -1 when it has not arrived yet. In CSV a newline
// inside quotes belongs to the value. The scan resumes where the last
// call stopped, so a record arriving in many pieces is scanned once.
func (d *copyDecoder) recordEnd(rec []byte) int {
	if !d.f.csv {
		i := bytes.IndexByte(rec[d.scan:], '\n')
		if i < 0 {
			d.scan = len(rec)
			return -1
		}
		return d.scan + i
	}
	for i := d.scan; i < len(rec); i++ {
		c := rec[i]
		switch {
		case d.escaped:
			d.escaped = false
		case d.quoted && c == d.f.escape && d.f.escape != d.f.quote:
			d.escaped = true
		case c == d.f.quote:
			d.quoted = !d.quoted
		case c == '\n' && !d.quoted:
			return i
		}
	}
	d.scan = len(rec)
	return -1
}

// checkHeader skips the header line, and checks it under HEADER MATCH.
func (d *copyDecoder) checkHeader(line []byte) error {
	if !d.f.HeaderMatch {
		return nil
	}
	if err := d.split(line); err != nil {
		return err
	}
	if len(d.fields) != len(d.cols) {
		return d.errLine(errBadCopyData.Errorf("wrong number of fields in header line: %d instead of %d", len(d.fields), len(d.cols)), line)
	}
	for i, c := range d.cols {
		if d.nulls[i] || string(d.fields[i]) != c.Name {
			return d.errLine(errBadCopyData.Errorf("column name mismatch in header line field %d: got %q, expected %q", i+1, d.fields[i], c.Name), line)
		}
	}
	return nil
}

// textRecord decodes one line of text or CSV data into a row.
func (d *copyDecoder) textRecord(line []byte) error {
	if err := d.split(line); err != nil {
		return err
	}
	if len(d.fields) < len(d.cols) {
		return d.errLine(errBadCopyData.Errorf("missing data for column %q", d.cols[len(d.fields)].Name), line)
	}
	if len(d.fields) > len(d.cols) {
		return d.errLine(errBadCopyData.Errorf("extra data after last expected column"), line)
	}
	row := make(types.Row, len(d.cols))
	for i, c := range d.cols {
		if d.nulls[i] {
			continue
		}
		v, err := ParseText(c.Type, d.fields[i])
		if err != nil {
			return &copyError{err: err, target: d.target, line: d.line, column: c.Name, value: clipValue(d.fields[i])}
		}
		row[i] = v
	}
	return d.emit(row)
}

// emit hands a row on; an error of the sink is located at its line.
func (d *copyDecoder) emit(row types.Row) error {
	if err := d.emitRow(row); err != nil {
		return &copyError{err: err, target: d.target, line: d.line}
	}
	return nil
}

func (d *copyDecoder) errLine(err error, line []byte) error {
	return &copyError{err: err, target: d.target, line: d.line, value: clipValue(line)}
}

// split cuts a line into d.fields (unescaped, or unquoted) and d.nulls.
// The fields alias d.unesc, valid until the next call.
func (d *copyDecoder) split(line []byte) error {
	d.fields, d.nulls = d.fields[:0], d.nulls[:0]
	d.unesc = d.unesc[:0]
	if d.f.csv {
		return d.splitCSV(line)
	}
	// Text: fields end at an unescaped delimiter; a field equal to the
	// null string as written is NULL; backslash sequences are undone.
	start, i := 0, 0
	for {
		for i < len(line) && line[i] != d.f.delim {
			if line[i] == '\\' {
				i++
			}
			i++
		}
		raw := line[start:min(i, len(line))]
		if string(raw) == d.f.null {
			d.fields, d.nulls = append(d.fields, nil), append(d.nulls, true)
		} else {
			at := len(d.unesc)
			d.unesc = unescapeText(d.unesc, raw)
			d.fields, d.nulls = append(d.fields, d.unesc[at:len(d.unesc):len(d.unesc)]), append(d.nulls, false)
		}
		if i >= len(line) {
			return nil
		}
		i++
		start = i
	}
}

// unescapeText appends raw with text COPY's backslash sequences undone:
// \b \f \n \r \t \v, \digits (octal), \xhex, and \c for any other c.
func unescapeText(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			dst = append(dst, byte(v))
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(raw) && isHex(raw[i+1]) {
				i++
				v = v*16 + hexVal(raw[i])
				n++
			}
			if n == 0 {
				dst = append(dst, 'x')
			} else {
				dst = append(dst, byte(v))
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// splitCSV cuts a CSV record: quoted parts are taken as they are (a
// doubled quote, or the escape character, stands for the character after
// it); an unquoted field equal to the null string is NULL.
func (d *copyDecoder) splitCSV(line []byte) error {
	f := d.f
	i := 0
	for {
		at := len(d.unesc)
		quotedAny := false
		fieldStart := i
		for i < len(line) && line[i] != f.delim {
			c := line[i]
			if c != f.quote {
				d.unesc = append(d.unesc, c)
				i++
				continue
			}
			quotedAny = true
			i++
			for {
				if i >= len(line) {
					return d.errLine(errBadCopyData.Errorf("unterminated CSV quoted field"), line)
				}
				c := line[i]
				if c == f.escape && i+1 < len(line) && (line[i+1] == f.quote || line[i+1] == f.escape) {
					d.unesc = append(d.unesc, line[i+1])
					i += 2
					continue
				}
				if c == f.quote {
					i++
					break
				}
				d.unesc = append(d.unesc, c)
				i++
			}
		}
		if !quotedAny && string(line[fieldStart:i]) == f.null {
			d.unesc = d.unesc[:at]
			d.fields, d.nulls = append(d.fields, nil), append(d.nulls, true)
		} else {
			d.fields, d.nulls = append(d.fields, d.unesc[at:len(d.unesc):len(d.unesc)]), append(d.nulls, false)
		}
		if i >= len(line) {
			return nil
		}
		i++ // the delimiter
	}
}

// binaryRecords reads the binary header and every complete tuple in buf.
// At the end of the data (last) a partial tuple is an error.
func (d *copyDecoder) binaryRecords(last bool) error {
	off := 0
	defer func() {
		if off > 0 {
			d.consume(off)
		}
	}()
	if !d.started {
		b := d.buf
		if len(b) < len(binarySignature)+8 {
			if last || (len(b) > 0 && !bytes.HasPrefix([]byte(binarySignature), b[:min(len(b), len(binarySignature))])) {
				return d.errLine(errBadCopyData.Errorf("COPY file signature not recognized"), nil)
			}
			return nil
		}
		if string(b[:len(binarySignature)]) != binarySignature {
			return d.errLine(errBadCopyData.Errorf("COPY file signature not recognized"), nil)
		}
		flags := binary.BigEndian.Uint32(b[len(binarySignature):])
		if flags&0xFFFF0000 != 0 {
			return d.errLine(errBadCopyData.Errorf("unrecognized critical flags in COPY file header"), nil)
		}
		ext := int(binary.BigEndian.Uint32(b[len(binarySignature)+4:]))
		hdr := len(binarySignature) + 8 + ext
		if ext < 0 || ext > d.maxRow {
			return d.errLine(errBadCopyData.Errorf("invalid COPY file header (wrong length)"), nil)
		}
		if len(b) < hdr {
			if last {
				return d.errLine(errBadCopyData.Errorf("invalid COPY file header (missing data)"), nil)
			}
			return nil
		}
		off = hdr
		d.started = true
	}
	for !d.ended {
		b := d.buf[off:]
		if len(b) < 2 {
			return nil
		}
		n := int(int16(binary.BigEndian.Uint16(b)))
		if n == -1 {
			d.ended = true
			off += 2
			return nil
		}
		d.line++
		if n != len(d.cols) {
			return d.errLine(errBadCopyData.Errorf("row field count is %d, expected %d", n, len(d.cols)), nil)
		}
		// Find the tuple's end before decoding anything of it.
		p := 2
		complete := true
		for range n {
			if len(b) < p+4 {
				complete = false
				break
			}
			l := int(int32(binary.BigEndian.Uint32(b[p:])))
			p += 4
			if l < -1 {
				return d.errLine(errBadCopyData.Errorf("invalid field size"), nil)
			}
			if l > 0 {
				if l > d.maxRow || p+l > d.maxRow+2+4*n {
					return d.errLine(sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
						"COPY row of more than %d bytes is over this server's limit", d.maxRow), nil)
				}
				p += l
			}
		}
		if !complete || len(b) < p {
			d.line--
			if len(b) > d.maxRow+2+4*n {
				return d.errLine(sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
					"COPY row of more than %d bytes is over this server's limit", d.maxRow), nil)
			}
			return nil
		}
		row := make(types.Row, n)
		p = 2
		for i, c := range d.cols {
			l := int(int32(binary.BigEndian.Uint32(b[p:])))
			p += 4
			if l < 0 {
				continue
			}
			v, err := ParseBinary(OID(c.Type), c.Type, b[p:p+l])
			if err != nil {
				return &copyError{err: err, target: d.target, line: d.line, column: c.Name}
			}
			row[i] = v
			p += l
		}
		off += p
		if err := d.emit(row); err != nil {
			return err
		}
	}
	return nil
}
