package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/linli-community/linli/models"
)

// The property company takes redeemed fee credits off bills ("apply") and,
// now and then, voids a bill a credit was taken off ("void"): the credit is
// pending again, as a new generation, and may be applied to another bill.
// One request at a time works on a credit, and the next is only chosen once
// the last was answered (a lost answer is retried at the next start before
// any new load), so every credit's acknowledged steps form one sequence:
// apply, void, apply, void … Each acknowledged apply must leave exactly one
// fulfilment event and each void one reversal event, in that order.

// creditPool holds the fee credits the harness may take a step on, and
// every step it took on each.
type creditPool struct {
	mu      sync.Mutex
	pending []string              // redeemed or voided, and not applied
	applied []string              // applied to a bill, not voided
	steps   map[string][]*request // apply and void requests by credit, in the order sent
}

// note moves a credit on once its request is answered: a fee redemption
// accepted and a void accepted make it pending, an apply accepted makes it
// applied. A refused step takes it out of play (and is a problem the final
// checks report); an unanswered one keeps it out until its retry.
func (p *creditPool) note(r *request) {
	if r.Outcome != accepted {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Kind {
	case "redeem", "void":
		p.pending = append(p.pending, r.Ref)
	case "apply":
		p.applied = append(p.applied, r.Ref)
	}
}

// next returns the next step on a credit: a void of an applied credit
// about one time in three (always, when none is pending), or else an apply
// of a pending one to a bill of its own dated billDate; nil if there is no
// credit to take a step on.
func (p *creditPool) next(rng *rand.Rand, billDate string, round, i int) *request {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := fmt.Sprintf("-%d-%d-%d", round, i, rng.Uint32())
	var r *request
	switch {
	case len(p.applied) > 0 && (len(p.pending) == 0 || rng.IntN(3) == 0):
		id := take(rng, &p.applied)
		r = &request{
			Kind: "void",
			Ref:  id,
			Path: "/api/v1/partner/credits/" + id + "/void",
			Key:  "void" + key,
		}
		r.Body, _ = json.Marshal(map[string]string{"reason": "crash test: bill voided"})
	case len(p.pending) > 0:
		id := take(rng, &p.pending)
		r = &request{
			Kind: "apply",
			Ref:  id,
			Path: "/api/v1/partner/credits/" + id + "/apply",
			Key:  "bill" + key,
		}
		r.Body, _ = json.Marshal(map[string]string{"bill_no": "B" + r.Key, "bill_date": billDate})
	default:
		return nil
	}
	if p.steps == nil {
		p.steps = map[string][]*request{}
	}
	p.steps[r.Ref] = append(p.steps[r.Ref], r)
	return r
}

// take removes a random element from *ids and returns it.
func take(rng *rand.Rand, ids *[]string) string {
	k := rng.IntN(len(*ids))
	id := (*ids)[k]
	*ids = append((*ids)[:k], (*ids)[k+1:]...)
	return id
}

// overtaken reports whether a later step on r's credit was acknowledged:
// a repeat of r then asks for a step the credit has moved past.
func (p *creditPool) overtaken(r *request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	after := false
	for _, s := range p.steps[r.Ref] {
		if after && s.Outcome == accepted {
			return true
		}
		after = after || s == r
	}
	return false
}

// replay sends again, with their keys and bodies, up to n acknowledged
// applies and voids picked at random from reqs, most of them answered by an
// earlier process: each must get its first answer byte for byte (client.send
// compares) and move nothing (the final event counts tell). It returns how
// many it sent and how many of those asked for a step their credit had
// moved past since (an apply whose bill has been voided since, a void of a
// credit applied again since).
func (s *session) replay(ctx context.Context, rng *rand.Rand, reqs []*request, credits *creditPool, n int) (sent, past int, err error) {
	var done []*request
	for _, r := range reqs {
		if (r.Kind == "apply" || r.Kind == "void") && r.Outcome == accepted {
			done = append(done, r)
		}
	}
	for ; sent < n && len(done) > 0; sent++ {
		k := rng.IntN(len(done))
		r := done[k]
		done = append(done[:k], done[k+1:]...)
		if credits.overtaken(r) {
			past++
		}
		if err := s.send(ctx, r); err != nil {
			return sent, past, fmt.Errorf("replay %s %s: %w", r.Kind, r.Key, err)
		}
		if r.Outcome != accepted {
			return sent, past, fmt.Errorf("replay %s %s: no answer", r.Kind, r.Key)
		}
	}
	return sent, past, nil
}

// creditAnswer is what the harness reads of an apply's or a void's answer.
type creditAnswer struct {
	Status     string     `json:"status"`
	Generation int        `json:"generation"`
	BillNo     string     `json:"bill_no"`
	Fulfilled  *time.Time `json:"fulfilled"`
}

// checkCredits checks, for every fee credit, its acknowledged steps against
// its settlement events (events, by redemption, in the order recorded):
// each step must have been acknowledged, with the generation it should
// have in its answer, and the events must be its fulfilments and reversals
// one for one, alternating in time as the steps did, each fulfilment at the
// moment its apply answered and each reversal undoing the fulfilment
// before it to the fen.
func checkCredits(credits *creditPool, events map[string][]models.SettlementEvent) []string {
	var problems []string
	bad := func(id, format string, args ...any) {
		problems = append(problems, "credit "+id+": "+fmt.Sprintf(format, args...))
	}
	for id, steps := range credits.steps {
		var acked []*request
		var answers []creditAnswer
		for _, r := range steps {
			if r.Outcome != accepted {
				// Nothing refuses a step on a credit in this state, and
				// the last start answers every request.
				bad(id, "%s %s was not accepted (outcome %d, answer lost %v)", r.Kind, r.Key, r.Outcome, r.Lost)
				continue
			}
			var a creditAnswer
			if err := json.Unmarshal(r.Answer, &a); err != nil {
				bad(id, "%s %s answer %q: %v", r.Kind, r.Key, r.Answer, err)
				continue
			}
			acked, answers = append(acked, r), append(answers, a)
		}
		evs := events[id] // in time order, as the store streams a partner's events
		if len(evs) != len(acked) {
			bad(id, "%d acknowledged steps %v, %d settlement events %v", len(acked), stepKinds(acked), len(evs), eventKinds(evs))
			continue
		}
		for k, r := range acked {
			a, e := answers[k], evs[k]
			// Steps alternate from an apply; generation g is applied by
			// step 2g-2 (counting from 0) and voided by step 2g-1, after
			// which the credit is pending as generation g+1.
			wantKind, wantStatus, wantGen := "apply", "fulfilled", k/2+1
			if k%2 == 1 {
				wantKind, wantStatus, wantGen = "void", "held", k/2+2
			}
			switch {
			case r.Kind != wantKind:
				bad(id, "step %d is %s %s; want %s (steps %v)", k, r.Kind, r.Key, wantKind, stepKinds(acked))
			case a.Status != wantStatus || a.Generation != wantGen:
				bad(id, "%s %s answered %s generation %d; want %s generation %d", r.Kind, r.Key, a.Status, a.Generation, wantStatus, wantGen)
			case r.Kind == "apply" && (e.Kind != models.EventFulfilled || e.ValueFen <= 0):
				bad(id, "apply %s: event %d is %s %d; want a fulfilment", r.Key, k, e.Kind, e.ValueFen)
			case r.Kind == "apply" && (a.Fulfilled == nil || !a.Fulfilled.Equal(e.At) || a.BillNo != "B"+r.Key):
				bad(id, "apply %s answered bill %s fulfilled %v; its event is at %v", r.Key, a.BillNo, a.Fulfilled, e.At)
			case r.Kind == "void" && (e.Kind != models.EventReversed || e.ValueFen != -evs[k-1].ValueFen || e.Bearer != evs[k-1].Bearer):
				bad(id, "void %s: event %d is %s %d %s; want the reversal of %d %s", r.Key, k, e.Kind, e.ValueFen, e.Bearer, evs[k-1].ValueFen, evs[k-1].Bearer)
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// stepKinds lists the kinds of the steps rs, for a failure's message.
func stepKinds(rs []*request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Kind
	}
	return out
}

// eventKinds lists the settlement events es as kind, value and time, for a failure's
// message.
func eventKinds(es []models.SettlementEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s %d at %s", e.Kind, e.ValueFen, e.At.Format(time.RFC3339Nano))
	}
	return out
}
