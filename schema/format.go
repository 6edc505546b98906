package schema

// Formats the encoded-bytes walker can settle without building a string: each function
// here accepts only strings that the jsonschema/v5 format accepts too (a subset), so a
// false answer just means "ask the real format".

// fastFormats maps a format name to its byte-level sufficient check.
var fastFormats = map[string]func([]byte) bool{
	"email": plainEmail,
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
