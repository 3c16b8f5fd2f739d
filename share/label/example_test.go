package label_test

import (
	"fmt"

	"github.com/flowfed/flowfed/share/label"
)

func ExampleState() {
	// A DNS query and its response on a non-standard port (UDP 1234).
	query := []byte("\x22\x22\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
		"\x03www\x07example\x03org\x00\x00\x01\x00\x01")
	response := []byte("\x22\x22\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" +
		"\x03www\x07example\x03org\x00\x00\x01\x00\x01" +
		"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xcb\x00\x71\x50")

	var s label.State // one per flow; the zero value is ready
	s.Observe(true, 17, 53001, 1234, query)
	done := s.Observe(false, 17, 1234, 53001, response)
	l := s.Result(17, 53001, 1234)
	fmt.Println(done, l, l.Source)
	fmt.Println(l.Evidence.DNSQuery, l.Evidence.DNSAnswer)

	// A flow whose payload says nothing gets a weak label from its port.
	var t label.State
	t.Observe(true, 6, 40000, 443, []byte("\x00\x01\x02\x03"))
	w := t.Result(6, 40000, 443)
	fmt.Println(w, w.Source)
	// Output:
	// true DNS payload
	// www.example.org 203.0.113.80
	// TLS (port) port
}
