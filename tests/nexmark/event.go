package nexmark

import (
	"strconv"
	"unicode/utf8"
)

// Kind is an event's type.
type Kind uint8

// The three kinds of event.
const (
	KindPerson Kind = iota
	KindAuction
	KindBid
)

func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	case KindBid:
		return "bid"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Person is someone who sells or bids. Times are ms since the epoch.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     int64
	Extra        string
}

// Auction is an item for sale.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    int64
	Expires     int64
	Seller      int64
	Category    int64
	Extra       string
}

// Bid is a bid on an auction. Prices are in cents.
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	Channel  string
	URL      string
	DateTime int64
	Extra    string
}

// Event is one generated event: Kind says which of the three is set.
type Event struct {
	Kind    Kind
	Person  Person
	Auction Auction
	Bid     Bid
}

// Time is the event's event time, in ms since the epoch.
func (e *Event) Time() int64 {
	switch e.Kind {
	case KindPerson:
		return e.Person.DateTime
	case KindAuction:
		return e.Auction.DateTime
	}
	return e.Bid.DateTime
}

// AppendJSON appends the event as the JSON object its topic holds. The
// field names are nexmark-flink's (its ddl_gen.sql and model classes);
// times are numbers of ms since the epoch, which is how Runnel's JSON
// format (like ksqlDB's) reads a TIMESTAMP column.
func (e *Event) AppendJSON(dst []byte) []byte {
	switch e.Kind {
	case KindPerson:
		p := &e.Person
		dst = append(dst, `{"id":`...)
		dst = strconv.AppendInt(dst, p.ID, 10)
		dst = appendStringField(dst, `,"name":`, p.Name)
		dst = appendStringField(dst, `,"emailAddress":`, p.EmailAddress)
		dst = appendStringField(dst, `,"creditCard":`, p.CreditCard)
		dst = appendStringField(dst, `,"city":`, p.City)
		dst = appendStringField(dst, `,"state":`, p.State)
		dst = appendIntField(dst, `,"dateTime":`, p.DateTime)
		dst = appendStringField(dst, `,"extra":`, p.Extra)
	case KindAuction:
		a := &e.Auction
		dst = append(dst, `{"id":`...)
		dst = strconv.AppendInt(dst, a.ID, 10)
		dst = appendStringField(dst, `,"itemName":`, a.ItemName)
		dst = appendStringField(dst, `,"description":`, a.Description)
		dst = appendIntField(dst, `,"initialBid":`, a.InitialBid)
		dst = appendIntField(dst, `,"reserve":`, a.Reserve)
		dst = appendIntField(dst, `,"dateTime":`, a.DateTime)
		dst = appendIntField(dst, `,"expires":`, a.Expires)
		dst = appendIntField(dst, `,"seller":`, a.Seller)
		dst = appendIntField(dst, `,"category":`, a.Category)
		dst = appendStringField(dst, `,"extra":`, a.Extra)
	default:
		b := &e.Bid
		dst = append(dst, `{"auction":`...)
		dst = strconv.AppendInt(dst, b.Auction, 10)
		dst = appendIntField(dst, `,"bidder":`, b.Bidder)
		dst = appendIntField(dst, `,"price":`, b.Price)
		dst = appendStringField(dst, `,"channel":`, b.Channel)
		dst = appendStringField(dst, `,"url":`, b.URL)
		dst = appendIntField(dst, `,"dateTime":`, b.DateTime)
		dst = appendStringField(dst, `,"extra":`, b.Extra)
	}
	return append(dst, '}')
}

func appendIntField(dst []byte, name string, v int64) []byte {
	return strconv.AppendInt(append(dst, name...), v, 10)
}

func appendStringField(dst []byte, name, s string) []byte {
	return appendJSONString(append(dst, name...), s)
}

// appendJSONString appends s as a JSON string. The generator's strings
// are plain ASCII, which is copied as is; anything else is escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		default:
			// Control characters, and bytes that are not UTF-8 (as the
			// replacement character, as encoding/json does).
			if c < 0x20 {
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			} else {
				dst = append(dst, `\ufffd`...)
			}
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
