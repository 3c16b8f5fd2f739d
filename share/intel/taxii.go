package intel

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// TAXII 2.1 content comes as envelopes ({"objects": [...], "more": ...},
// handled like bundles) or, for servers that keep their state in one file
// (the medallion memory back end), as a document whose top-level members
// are the discovery resource and API roots, each root holding collections
// with "objects" and "manifest" lists. scanServerData finds those lists.

// scanServerData finds the object lists of a TAXII server data file. It
// returns the container (document with the lists emptied) and the objects
// of each list.
func scanServerData(top *jobject) (*Container, [][]json.RawMessage, error) {
	cont := &Container{Kind: ContainerServer}
	var lists [][]json.RawMessage
	found := false
	for mi := range top.m {
		root, err := parseJObject(top.m[mi].val)
		if err != nil {
			continue // not an API root (a string, a list, the discovery resource's values)
		}
		collsRaw, ok := root.get("collections")
		if !ok {
			continue
		}
		colls, err := parseJArray(collsRaw)
		if err != nil {
			return nil, nil, fmt.Errorf("api root %q: collections: %w", top.m[mi].key, err)
		}
		found = true
		for ci, craw := range colls {
			coll, err := parseJObject(craw)
			if err != nil {
				return nil, nil, fmt.Errorf("api root %q: collection %d: %w", top.m[mi].key, ci, err)
			}
			objsRaw, ok := coll.get("objects")
			if !ok {
				continue
			}
			objs, err := parseJArray(objsRaw)
			if err != nil {
				return nil, nil, fmt.Errorf("api root %q: collection %d: objects: %w", top.m[mi].key, ci, err)
			}
			for i := range objs {
				objs[i] = compact(objs[i])
			}
			id, _ := coll.getString("id")
			cont.Lists = append(cont.Lists, ObjectList{
				Path: []string{top.m[mi].key, "collections", strconv.Itoa(ci), "objects"},
				ID:   id,
			})
			lists = append(lists, objs)
			coll.set("objects", json.RawMessage("[]"))
			colls[ci] = coll.bytes()
		}
		root.set("collections", joinArray(colls))
		top.m[mi].val = root.bytes()
	}
	if !found {
		return nil, nil, fmt.Errorf("%w: neither a bundle, a TAXII envelope nor TAXII server data", ErrMalformed)
	}
	cont.Raw = top.bytes()
	return cont, lists, nil
}

// updatePath replaces the value at path (object keys and array indices)
// in raw with f(old); old is nil for a missing object member, and a nil
// result leaves the document unchanged.
func updatePath(raw json.RawMessage, path []string, f func(json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if len(path) == 0 {
		return f(raw)
	}
	if len(raw) > 0 && raw[0] == '[' {
		arr, err := parseJArray(raw)
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(arr) {
			return nil, fmt.Errorf("%w: no element %q", ErrMalformed, path[0])
		}
		v, err := updatePath(arr[i], path[1:], f)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return raw, nil
		}
		arr[i] = v
		return joinArray(arr), nil
	}
	o, err := parseJObject(raw)
	if err != nil {
		return nil, err
	}
	cur, ok := o.get(path[0])
	if !ok && len(path) > 1 {
		return raw, nil
	}
	v, err := updatePath(cur, path[1:], f)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return raw, nil
	}
	o.set(path[0], v)
	return o.bytes(), nil
}
