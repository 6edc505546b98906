package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

//go:embed descriptor.schema.json
var metaSchema []byte

// MetaSchema returns the JSON Schema (draft 2020-12) of descriptor files;
// schemas/descriptor.schema.json in the repository is a copy of it.
func MetaSchema() []byte { return bytes.Clone(metaSchema) }

// Defaults of the options.
const (
	DefaultMaxDepth    = 64      // nesting depth of a validated instance
	DefaultMaxFileSize = 4 << 20 // bytes of one descriptor or fragment file
	maxFileNesting     = 256     // nesting depth of a descriptor or fragment file
)

// baseURL is the namespace of a set's files inside the compiler; it loads nothing else, so
// a reference can only reach files of the set.
const baseURL = ref.Base

type options struct {
	maxDepth    int
	maxFileSize int
}

// Option configures a Set.
type Option func(*options)

// WithMaxDepth caps the nesting depth of validated instances (default DefaultMaxDepth).
// Deeper instances are rejected whatever the schema says (jsonschema/v5 would exhaust the
// stack on them).
func WithMaxDepth(n int) Option { return func(o *options) { o.maxDepth = n } }

// WithMaxFileSize caps the size of one file of the set (default DefaultMaxFileSize).
func WithMaxFileSize(n int) Option { return func(o *options) { o.maxFileSize = n } }

func buildOptions(opts []Option) options {
	o := options{maxDepth: DefaultMaxDepth, maxFileSize: DefaultMaxFileSize}
	for _, f := range opts {
		f(&o)
	}
	if o.maxDepth <= 0 {
		o.maxDepth = DefaultMaxDepth
	}
	if o.maxFileSize <= 0 {
		o.maxFileSize = DefaultMaxFileSize
	}
	return o
}

// Set is a set of descriptor files and shared schema fragments whose $refs resolve only among
// themselves. All its methods are safe for concurrent use; validators it returns are immutable.
type Set struct {
	opts options
	meta *jsonschema.Schema

	mu         sync.RWMutex
	files      map[string][]byte                 // every file: descriptors and fragments
	descs      map[string]map[string]*Descriptor // service -> version -> descriptor
	validators map[vkey]*Validator
}

type vkey struct {
	service, version string
	part             Part
	name             string
}

// compiledMeta compiles the embedded meta-schema once; the result is immutable.
var compiledMeta = sync.OnceValue(func() *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.LoadURL = refuseLoad
	if err := c.AddResource("jesus-meta:///descriptor.schema.json", bytes.NewReader(metaSchema)); err != nil {
		panic("schema: embedded meta-schema: " + err.Error()) // a build defect, covered by tests
	}
	meta, err := c.Compile("jesus-meta:///descriptor.schema.json")
	if err != nil {
		panic("schema: embedded meta-schema: " + err.Error())
	}
	return meta
})

// NewSet returns an empty set.
func NewSet(opts ...Option) *Set {
	return &Set{
		opts:       buildOptions(opts),
		meta:       compiledMeta(),
		files:      map[string][]byte{},
		descs:      map[string]map[string]*Descriptor{},
		validators: map[vkey]*Validator{},
	}
}

func refuseLoad(u string) (io.ReadCloser, error) { return nil, ref.Refuse(u) }

// LoadDir loads every *.json file under dir (see LoadFS).
func LoadDir(dir string, opts ...Option) (*Set, error) {
	return LoadFS(os.DirFS(dir), opts...)
}

// LoadFS loads every *.json file of fsys: files with a top-level "service" are descriptors,
// the others are shared fragments that descriptors reference by relative file name
// ("common.defs.json#/$defs/Money"). Files named *.schema.json (meta-schemas) are skipped.
// Every error of every file is reported.
func LoadFS(fsys fs.FS, opts ...Option) (*Set, error) {
	s := NewSet(opts...)
	var errs []error
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || !strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".schema.json") {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		if info.Size() > int64(s.opts.maxFileSize) {
			errs = append(errs, fmt.Errorf("schema: %s: %d bytes exceeds the max file size of %d bytes", p, info.Size(), s.opts.maxFileSize))
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema: loading files: %w", err)
	}
	if err := s.addFiles(files); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Add adds one file to the set: a descriptor (e.g. a bundle published in the registry) or a
// fragment. name is the file's name in the set ("orders.json"); other files reference it by
// that name; give each published version its own name ("orders@1.3.0.json"). Adding the same
// content under the same name again is a no-op; a different
// content for a name, or for a service@version already in the set, is an error. On error the
// set is unchanged.
func (s *Set) Add(name string, data []byte) error {
	return s.addFiles(map[string][]byte{name: data})
}

func checkName(name string) error {
	if name == "" || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, "/") ||
		path.Clean(name) != name || strings.Contains(name, "..") || strings.ContainsAny(name, "#?\\%: ") {
		return fmt.Errorf("schema: file name %q: want a clean relative name ending in .json (no .., #, ?, %%, :, spaces)", name)
	}
	return nil
}

// addFiles adds files atomically: all are parsed and compiled against the set plus the new
// files, and only then published.
func (s *Set) addFiles(in map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	added, newDescs, err := s.parseNew(in)
	if err != nil || len(added) == 0 {
		return err
	}

	c := s.newCompiler(added)
	vals := map[vkey]*Validator{}
	var errs []error
	for _, d := range newDescs {
		if err := s.compileDescriptor(c, d, vals); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	for n, b := range added {
		s.files[n] = b
	}
	for _, d := range newDescs {
		d.set = s
		if s.descs[d.Service] == nil {
			s.descs[d.Service] = map[string]*Descriptor{}
		}
		s.descs[d.Service][d.Version] = d
	}
	for k, v := range vals {
		s.validators[k] = v
	}
	return nil
}

// parseNew parses the files of in that the set does not hold yet, sorted by name, and
// checks them against the set and each other: it returns the new files, their
// descriptors, and every error found. s.mu is held.
func (s *Set) parseNew(in map[string][]byte) (map[string][]byte, []*Descriptor, error) {
	var errs []error
	added := map[string][]byte{}
	var newDescs []*Descriptor
	for _, n := range sortedKeys(in) {
		data := in[n]
		if err := checkName(n); err != nil {
			errs = append(errs, err)
			continue
		}
		if len(data) > s.opts.maxFileSize {
			errs = append(errs, fmt.Errorf("schema: %s: %d bytes exceeds the max file size of %d bytes", n, len(data), s.opts.maxFileSize))
			continue
		}
		if old, ok := s.files[n]; ok {
			if bytes.Equal(old, data) {
				continue
			}
			errs = append(errs, fmt.Errorf("schema: %s: already in the set with different content", n))
			continue
		}
		d, err := s.parseFile(n, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		added[n] = data
		if d != nil {
			if old := s.descs[d.Service][d.Version]; old != nil {
				errs = append(errs, fmt.Errorf("schema: %s: %s is already in the set (from %s); a version is immutable, publish a new one", n, d.ID(), old.File))
				continue
			}
			for _, o := range newDescs {
				if o.Service == d.Service && o.Version == d.Version {
					errs = append(errs, fmt.Errorf("schema: %s: %s is also declared by %s", n, d.ID(), o.File))
				}
			}
			newDescs = append(newDescs, d)
		}
	}
	return added, newDescs, errors.Join(errs...)
}

// newCompiler returns a compiler that knows the set's files plus extra, and nothing else.
// It reads them when a schema first needs them; s.mu is held while it compiles.
func (s *Set) newCompiler(extra map[string][]byte) *jsonschema.Compiler {
	return ref.NewCompiler(func(name string) ([]byte, bool) {
		if b, ok := extra[name]; ok {
			return b, true
		}
		b, ok := s.files[name]
		return b, ok
	})
}

// decodeJSON decodes one file with numbers kept exact, after checking its nesting depth.
func decodeJSON(name string, data []byte) (any, error) {
	if p, ok := nestingExceeds(data, maxFileNesting); ok {
		return nil, fmt.Errorf("schema: %s: nesting deeper than %d levels at byte %d", name, maxFileNesting, p)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema: %s: invalid JSON: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("schema: %s: invalid JSON: data after the top-level value", name)
	}
	return v, nil
}

// nestingExceeds reports the byte offset where data nests deeper than max.
func nestingExceeds(data []byte, max int) (int, bool) {
	depth, inStr, esc := 0, false, false
	for i, c := range data {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return i, true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return 0, false
}

// Service returns the latest version (semver precedence) of a service, or nil.
func (s *Set) Service(name string) *Descriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *Descriptor
	for _, d := range s.descs[name] {
		if best == nil || CompareVersions(d.Version, best.Version) > 0 {
			best = d
		}
	}
	return best
}

// Get returns one version of a service, or nil.
func (s *Set) Get(name, version string) *Descriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.descs[name][version]
}

// Services returns every descriptor of the set, sorted by service then version.
func (s *Set) Services() []*Descriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Descriptor
	for _, vs := range s.descs {
		for _, d := range vs {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out
}

// Latest returns the latest version of each named service, sorted by name; with no names,
// of every service of the set. A name the set does not hold is an error, as is an empty
// result.
func (s *Set) Latest(services ...string) ([]*Descriptor, error) {
	names := slices.Clone(services)
	if len(names) == 0 {
		for _, d := range s.Services() {
			if len(names) == 0 || names[len(names)-1] != d.Service {
				names = append(names, d.Service)
			}
		}
	}
	sort.Strings(names)
	var out []*Descriptor
	for _, n := range names {
		d := s.Service(n)
		if d == nil {
			return nil, fmt.Errorf("no service %q in the set", n)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the set holds no service descriptor")
	}
	return out, nil
}

// Files returns the names of every file of the set, sorted.
func (s *Set) Files() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.files)
}

// File returns the content of one file of the set by its name ("common.defs.json"), so
// that tools generating code or documents can follow $refs into fragment files.
func (s *Set) File(name string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.files[name]
	return bytes.Clone(b), ok
}

// Validator returns the compiled validator of one schema of a service version: part and name
// select it (name is the method, the event, or "svc.method" for calls). An empty version means
// the latest one.
func (s *Set) Validator(service, version string, part Part, name string) (*Validator, error) {
	if version == "" {
		d := s.Service(service)
		if d == nil {
			return nil, fmt.Errorf("schema: no service %q in the set", service)
		}
		version = d.Version
	}
	s.mu.RLock()
	v := s.validators[vkey{service, version, part, name}]
	d := s.descs[service][version]
	s.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	if d == nil {
		return nil, fmt.Errorf("schema: no service %s@%s in the set", service, version)
	}
	return nil, fmt.Errorf("schema: %s@%s has no %s schema for %q", service, version, part, name)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// escapeToken escapes one token of a JSON pointer.
func escapeToken(s string) string { return ref.EscapeToken(s) }
