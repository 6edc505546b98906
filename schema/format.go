package schema

// Formats the encoded-bytes walker can settle without building a string: each function
// here accepts only strings that the jsonschema/v5 format accepts too (a subset), so a
// false answer just means "ask the real format".

// fastFormats maps a format name to its byte-level sufficient check.
var fastFormats = map[string]func([]byte) bool{
	"email":     plainEmail,
	"date-time": plainDateTime,
	"uuid":      plainUUID,
}

// plainDateTime accepts RFC 3339 date-times "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)"
// ('t' and 'z' in either case) with a real calendar date and seconds up to 59: what
// jsonschema's date-time (time.Parse of the date, then its own time check) accepts.
// Leap seconds are left to it.
func plainDateTime(s []byte) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	h, ok4 := digits(s[11:13])
	mi, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 1:
		return rest[0] == 'Z' || rest[0] == 'z'
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		zh, ok1 := digits(rest[1:3])
		zm, ok2 := digits(rest[4:6])
		return ok1 && ok2 && zh <= 23 && zm <= 59
	}
	return false
}

// digits reads a fixed-width decimal of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// plainUUID accepts 8-4-4-4-12 hex digits in either case, as jsonschema's uuid does.
func plainUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// plainEmail accepts local@domain where local is a dot-atom of ASCII atext (RFC 5322) of
// at most 64 characters and domain a hostname of letters, digits and inner hyphens, with
// no trailing dot: what jsonschema's email format (length limits, isHostname, then
// net/mail.ParseAddress) accepts without doubt.
func plainEmail(s []byte) bool {
	if len(s) > 254 {
		return false
	}
	at := -1
	for i, c := range s {
		if c == '@' {
			at = i
			break
		}
	}
	if at < 1 || at > 64 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i, c := range local {
		switch {
		case c == '.':
			if local[i-1] == '.' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && isAtextSymbol(c):
		default:
			return false
		}
	}
	if len(domain) == 0 || len(domain) > 253 {
		return false
	}
	label := 0 // length of the current label
	for i, c := range domain {
		switch {
		case c == '.':
			if label == 0 || domain[i-1] == '-' {
				return false
			}
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0 && domain[len(domain)-1] != '-'
}

func isAtextSymbol(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~', '-':
		return true
	}
	return false
}
