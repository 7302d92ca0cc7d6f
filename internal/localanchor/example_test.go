package localanchor_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kyccb/kyccb/internal/localanchor"
)

// A command prints each event as a line of text, or as one JSON object.
func ExampleEvent_String() {
	events := []localanchor.Event{
		{Kind: localanchor.EventRegistered, Customer: "c1", Account: "GABC", URL: "http://127.0.0.1:9000/kyc"},
		{Kind: localanchor.EventStatus, Customer: "c1", Account: "GABC", Status: "REJECTED", Message: "ID unreadable"},
		{Kind: localanchor.EventAttempt, Customer: "c1", URL: "http://127.0.0.1:9000/kyc", Status: "REJECTED", Attempt: 1, StatusCode: 500, RetryIn: 1200 * time.Millisecond},
		{Kind: localanchor.EventDelivered, Customer: "c1", URL: "http://127.0.0.1:9000/kyc", Status: "REJECTED", Attempt: 2},
	}
	for _, e := range events {
		fmt.Println(e)
	}
	b, _ := json.Marshal(events[2])
	fmt.Println(string(b))
	// Output:
	// registered customer c1 (GABC): callbacks to http://127.0.0.1:9000/kyc
	// status customer c1 (GABC): REJECTED (ID unreadable)
	// attempt customer c1: REJECTED #1 to http://127.0.0.1:9000/kyc: 500, retry in 1.2s
	// delivered customer c1: REJECTED to http://127.0.0.1:9000/kyc after 2 attempts
	// {"time":"0001-01-01T00:00:00Z","kind":"attempt","customer":"c1","url":"http://127.0.0.1:9000/kyc","status":"REJECTED","attempt":1,"status_code":500,"retry_in_ns":1200000000}
}
