package compat

// What a format implies. With formats asserted (as jesus validates), every
// string the validator accepts for these formats matches the pattern and has
// a length within the bounds below; the patterns are supersets written from
// the validator's format checks (santhosh-tekuri/jsonschema/v5), which accept
// for instance a sign in a two-digit field of a time ("+1:00:00Z") because
// they parse with strconv.Atoi. On A's side the implied pattern and lengths
// narrow A soundly; on B's side a format is stricter than its pattern, so it
// is never replaced by it.

type implied struct {
	pattern    string
	minL, maxL int64 // maxL < 0: unbounded
	// exact: the format accepts exactly the strings of the pattern, so on
	// B's side too it can be compared as a pattern.
	exact bool
}

const timeRE = `[0-9+-]{2}:[0-9+-]{2}:[0-9+-]{2}(\.[0-9]+)?([Zz]|[+-][0-9+-]{2}:[0-9+-]{2})`

var formatImplies = map[string]implied{
	"date":      {`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, 10, 10, false},
	"uuid":      {`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`, 36, 36, true},
	"time":      {`^` + timeRE + `$`, 9, -1, false},
	"date-time": {`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]` + timeRE + `$`, 20, -1, false},
	"ipv4":      {`^[+-]?[0-9]+(\.[+-]?[0-9]+){3}$`, 7, -1, false},
}

// withFormats narrows A's string bounds by what its formats imply and
// returns the implied patterns.
func withFormats(s strb) (strb, []string) {
	var pats []string
	for _, f := range sortedKeys(s.formats) {
		im, ok := formatImplies[f]
		if !ok {
			continue
		}
		pats = append(pats, im.pattern)
		if im.minL > s.minL {
			s.minL = im.minL
		}
		if im.maxL >= 0 && (s.maxL < 0 || im.maxL < s.maxL) {
			s.maxL = im.maxL
		}
	}
	return s, pats
}
