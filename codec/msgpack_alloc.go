package codec

import (
	"fmt"
	"reflect"
)

// The library makes room for every item an array or map header declares before it reads
// the first (up to a million): a header may declare as many items as there are bytes
// left, and an item of one byte (nil) may become a large element, so a 1 MiB message can
// make it allocate hundreds of MiB before it fails at the second item. Before the library
// reads a message, the room its headers can make it set aside is bounded: declared items
// times the largest element the target type holds in an array or map.

// maxLibraryPrealloc is the room the library may set aside for a message's arrays and maps
// up front: 16 times the message, and at least 8 MiB.
func maxLibraryPrealloc(n int) uint64 { return max(8<<20, 16*uint64(n)) }

// elemBounds caches, per target type, its largest array or map element (elemBound).
var elemBounds = typeCache[uintptr]{walk: elemWalk}

// elemBound returns the size of the largest element of a slice, or entry of a map, that
// a value of type t can hold anywhere; an interface can hold any JSON-ready value, whose
// elements are interfaces (16 bytes) and map entries (a string and an interface).
func elemBound(t reflect.Type) uintptr { return elemBounds.get(t) }

func elemWalk(t reflect.Type, seen map[reflect.Type]bool) uintptr {
	if seen[t] {
		return 0
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return 32 // a map[string]any entry; []any items are 16
	case reflect.Pointer, reflect.Array:
		return elemWalk(t.Elem(), seen)
	case reflect.Slice:
		return max(t.Elem().Size(), elemWalk(t.Elem(), seen))
	case reflect.Map:
		return max(t.Key().Size()+t.Elem().Size(), elemWalk(t.Key(), seen), elemWalk(t.Elem(), seen))
	case reflect.Struct:
		var b uintptr
		for i := range t.NumField() {
			b = max(b, elemWalk(t.Field(i).Type, seen))
		}
		return b
	}
	return 0
}

// checkPrealloc refuses data, checked by checkMsgpack, when its largest array or map
// header could make the library set aside more than maxLibraryPrealloc for a value of
// type t.
func checkPrealloc(data []byte, maxDepth int, t reflect.Type) error {
	elem := uint64(elemBound(t))
	limit := maxLibraryPrealloc(len(data))
	if elem == 0 || uint64(len(data))*elem <= limit {
		return nil // no header can declare more items than there are bytes
	}
	var r MsgpackReader
	r.reset(data, maxDepth, true)
	var toks [64]MsgpackToken
	for r.More() {
		n, err := r.Read(toks[:])
		for i := range toks[:n] {
			if k := toks[i].Kind; k == MsgpackArray || k == MsgpackMap {
				if room := uint64(toks[i].Len) * elem; room > limit {
					return fmt.Errorf("%w: msgpack: a header declares %d items, which could take %d bytes as %s (more than %d for a %d-byte message)",
						ErrTooLarge, toks[i].Len, room, t, limit, len(data))
				}
			}
		}
		if err != nil {
			return nil // checkMsgpack accepted data: not reached
		}
	}
	return nil
}
