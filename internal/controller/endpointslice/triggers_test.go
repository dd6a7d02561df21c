package endpointslice

import (
	"testing"
	"time"
)

func TestTriggerTimes(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	cases := []struct {
		name string
		run  func(tt *triggerTimes)
		want time.Time
	}{
		{name: "nothing observed", run: func(*triggerTimes) {}},
		{name: "earliest change wins", run: func(tt *triggerTimes) {
			tt.observe("k", at(20))
			tt.observe("k", at(10))
			tt.observe("k", at(30))
		}, want: at(10)},
		{name: "taken", run: func(tt *triggerTimes) { tt.observe("k", at(10)); tt.take("k") }},
		{name: "restored after a failed write, merged with a newer change", run: func(tt *triggerTimes) {
			tt.observe("k", at(10))
			taken := tt.take("k")
			tt.observe("k", at(20))
			tt.restore("k", taken)
		}, want: at(10)},
		{name: "restoring nothing", run: func(tt *triggerTimes) { tt.restore("k", time.Time{}) }},
		{name: "forgotten", run: func(tt *triggerTimes) { tt.observe("k", at(10)); tt.forget("k") }},
		{name: "other key", run: func(tt *triggerTimes) { tt.observe("other", at(10)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tt := newTriggerTimes()
			tc.run(tt)
			if got := tt.take("k"); !got.Equal(tc.want) {
				t.Errorf("take = %v, want %v", got, tc.want)
			}
		})
	}
}
