package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Collections. Hot-path collections are read only by _id.
const (
	colCommunities      = "communities"
	colBuildings        = "buildings"
	colHouseholds       = "households"
	colResidents        = "residents"
	colLogins           = "logins" // _id is the blind index of the phone (store/sealed.go): one login per phone
	colSessions         = "sessions"
	colRefreshTokens    = "refresh_tokens" // _id is the token's hash
	colEntries          = "ledger_entries" // _id is account:seq
	colHeads            = "ledger_heads"   // _id is the account; hints only
	colOps              = "ledger_ops"     // _id is the scoped idempotency key
	colTransfers        = "transfers"
	colTransferQueue    = "transfers_pending" // small: loses items when done
	colAuditLog         = "audit_log"
	colImports          = "imports"
	colLeases           = "job_leases"
	colJobRuns          = "job_runs"
	colPolicies         = "policies"          // _id is community:version
	colSettlementEvents = "settlement_events" // written once per fulfilment or reversal
	colPartners         = "partners"
	colStatements       = "statements"       // _id is settle:partner:month, inserted once
	colStatementLines   = "statement_lines"  // _id is line:partner:month:event
	colStatementStatus  = "statement_status" // _id is statement:status, inserted once
	colRewards          = "rewards"
	colRedemptions      = "redemptions"
	colRewardSlots      = "reward_slots"     // _id is the slot: stock, limit and bay counters
	colRedemptionMarks  = "redemption_marks" // _id is the keyed step: final:, void:, refund:, scan:
	colCounterCodes     = "counter_codes"    // _id is community:code, a merchant QR's short code
	colFilialPlates     = "filial_plates"    // _id is community:plate
	colFilialBookings   = "filial_bookings"  // _id is community:plate:day
	colGateEvents       = "gate_events"      // _id is community:event id
	colHonourEntries    = "honour_entries"
	colObjections       = "honour_objections" // _id derived from entry and resident
	colHonourEvents     = "honour_events"     // once-only state changes, keyed
	colHonourCurrent    = "honour_current"    // _id is r:resident or h:household; hot path
	colHeadTerms        = "head_terms"        // _id derived from seat and term number
	colHeadCurrent      = "head_current"      // _id is the resident; hot path
	colDuties           = "head_duties"       // _id derived from term, month and duty
	colStarLevels       = "star_levels"       // _id is household:year; hot path
	colActivities       = "tb_activities"
	colSignups          = "tb_signups"         // _id is activity:resident:generation
	colTBKeys           = "tb_keys"            // keyed once-only steps: slots, check-ins, decisions, aid steps
	colRecords          = "tb_records"         // service records; state is a cache of tb_keys decisions
	colRecordQueue      = "tb_records_pending" // small: loses items when decided
	colLinks            = "tb_links"           // per-resident chains: day index, day quota, points carry, gifts
	colCorrections      = "tb_corrections"     // _id is record:n
	colAid              = "tb_mutual_aid"
	colGifts            = "tb_gifts"
)

// Notifications (package inbox) and their deliveries (package outbound).
const (
	colNotifications = "notifications" // _id derived from kind, event and recipient; inserted once
	colInbox         = "inbox_entries" // _id is box:recipient:seq, a recipient's inbox chain
	colInboxHints    = "inbox_hints"   // _id is the recipient; hints only
	colInboxMarks    = "inbox_marks"   // read:recipient:seq and readall:recipient:k, inserted once
	colNoticePrefs   = "notice_prefs"  // _id is the resident
	colNotifyQueue   = "notify_queue"  // small: loses items when delivered
	colDeliveries    = "deliveries"    // try:, fail:, sent:, revive: per sender and message, inserted once
	colDeadLetters   = "dead_letters"  // small: loses items when staff retry them
)

// colKeyedRequests holds the hash and first answer of each keyed request;
// _id is k:caller:key.
const colKeyedRequests = "keyed_requests"

var allCollections = []string{
	colCommunities, colBuildings, colHouseholds, colResidents, colLogins, colSessions,
	colRefreshTokens, colEntries, colHeads, colOps, colTransfers, colTransferQueue,
	colAuditLog, colImports, colLeases, colJobRuns, colPolicies, colPartners,
	colSettlementEvents,
	colStatements, colStatementLines, colStatementStatus,
	colRewards, colRedemptions, colRewardSlots, colRedemptionMarks, colCounterCodes, colFilialPlates, colFilialBookings, colGateEvents,
	colHonourEntries, colObjections, colHonourEvents, colHonourCurrent, colHeadTerms, colHeadCurrent, colDuties, colStarLevels,
	colActivities, colSignups, colTBKeys, colRecords, colRecordQueue, colLinks, colCorrections, colAid, colGifts,
	colKeyedRequests, colListHeads, colLiabilityAccounts, colLiabilitySummaries, colResidency, colDirLists, colLiabilityDays,
	colNotifications, colInbox, colInboxHints, colInboxMarks, colNoticePrefs, colNotifyQueue, colDeliveries, colDeadLetters,
	colConsents, colAccessLog,
}

// index is one index of collection col on keys, unique or not.
type index struct {
	col    string
	keys   bson.D
	unique bool
}

// name is the index's name: its collection and its keys.
func (ix index) name() string {
	name := ix.col
	for _, k := range ix.keys {
		name += "_" + k.Key
	}
	return name
}

// indexes are what MongoDB needs for the queries and the uniqueness it
// enforces. The embedded store builds only the unique ones (schemaIndexes).
var indexes = []index{
	{colHouseholds, bson.D{{Key: "community", Value: 1}, {Key: "building", Value: 1}, {Key: "room", Value: 1}}, true},
	{colBuildings, bson.D{{Key: "community", Value: 1}, {Key: "name", Value: 1}}, true},
	{colResidents, bson.D{{Key: "community", Value: 1}, {Key: "household", Value: 1}}, false},
	{colEntries, bson.D{{Key: "community", Value: 1}, {Key: "at", Value: 1}}, false},
	{colAuditLog, bson.D{{Key: "community", Value: 1}, {Key: "at", Value: -1}}, false},
	{colSettlementEvents, bson.D{{Key: "partner", Value: 1}, {Key: "at", Value: 1}}, false},
	{colJobRuns, bson.D{{Key: "job", Value: 1}, {Key: "started", Value: -1}}, false},
	{colPartners, bson.D{{Key: "community", Value: 1}, {Key: "name", Value: 1}}, true},
	{colStatements, bson.D{{Key: "community", Value: 1}, {Key: "month", Value: 1}}, false},
	{colStatementLines, bson.D{{Key: "statement", Value: 1}, {Key: "at", Value: 1}}, false},
	{colSettlementEvents, bson.D{{Key: "redemption", Value: 1}}, false},
	{colSettlementEvents, bson.D{{Key: "partner", Value: 1}, {Key: "recorded", Value: 1}}, false}, // late events
	{colRewards, bson.D{{Key: "community", Value: 1}}, false},
	{colRedemptions, bson.D{{Key: "community", Value: 1}, {Key: "status", Value: 1}}, false},
	{colRedemptions, bson.D{{Key: "partner", Value: 1}, {Key: "created", Value: 1}}, false},
	{colRedemptions, bson.D{{Key: "resident", Value: 1}, {Key: "created", Value: -1}}, false},
	{colHonourEntries, bson.D{{Key: "community", Value: 1}, {Key: "status", Value: 1}}, false},
	{colObjections, bson.D{{Key: "entry", Value: 1}}, false},
	{colHeadTerms, bson.D{{Key: "community", Value: 1}, {Key: "seat", Value: 1}}, false},
	{colDuties, bson.D{{Key: "community", Value: 1}, {Key: "term", Value: 1}, {Key: "month", Value: 1}}, false},
	{colActivities, bson.D{{Key: "community", Value: 1}, {Key: "start", Value: 1}}, false},
	{colSignups, bson.D{{Key: "resident", Value: 1}}, false},
	{colRecords, bson.D{{Key: "community", Value: 1}, {Key: "state", Value: 1}}, false},
	{colRecords, bson.D{{Key: "resident", Value: 1}, {Key: "start", Value: 1}}, false},
	{colAid, bson.D{{Key: "community", Value: 1}, {Key: "state", Value: 1}}, false},
	{colFilialPlates, bson.D{{Key: "community", Value: 1}, {Key: "parent", Value: 1}}, false},
	{colFilialBookings, bson.D{{Key: "community", Value: 1}, {Key: "parent", Value: 1}, {Key: "day", Value: 1}}, false},
	{colLiabilityAccounts, bson.D{{Key: "community", Value: 1}}, false},
	{colDeadLetters, bson.D{{Key: "community", Value: 1}, {Key: "at", Value: -1}}, false},
}

// EnsureSchema creates every collection and index; it is safe to run at
// every start. FerretDB creates a collection lazily on its first insert, so
// they are created explicitly, and then, on the embedded store, given the
// SQLite _id index (a re-created collection needs it again).
//
// A database whose schema this version built already (its mark, see
// schemaMark, and every collection in place) skips the collections,
// indexes and _id indexes, so a start (and each test's second open of its
// database) costs two commands, not a hundred; the backfills of lists
// (listEverythingStoredBefore) still run, each a look-up of its own mark.
func (s *Store) EnsureSchema(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("store: list collections: %w", err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	mark := schemaMark()
	built := !slices.ContainsFunc(allCollections, func(c string) bool { return !have[c] })
	if built {
		var d listHeadDoc
		err := s.findByID(ctx, colListHeads, mark, &d)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		built = err == nil
	}
	if built {
		return s.listEverythingStoredBefore(ctx)
	}
	for _, name := range allCollections {
		if have[name] {
			continue
		}
		err := s.db.CreateCollection(ctx, name)
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.Code == 48) { // 48: NamespaceExists
			return fmt.Errorf("store: create %s: %w", name, err)
		}
	}
	build, _ := schemaIndexes(s.embedded != nil)
	for _, ix := range build {
		m := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name()).SetUnique(ix.unique)}
		if _, err := s.c(ix.col).Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("store: index %s: %w", ix.name(), err)
		}
	}
	if s.embedded != nil {
		// Not bound by the caller's deadline (a start gives its schema a
		// minute): on a database an earlier version indexed this builds
		// the unique _id index over every document of every collection,
		// once, in one transaction (2.3 s for 219 MB here), and a start
		// cut short would roll it all back and begin again at the next.
		if err := s.embedded.indexIDs(context.WithoutCancel(ctx), s.db.Name()); err != nil {
			return err
		}
	}
	if have[colRecords] && !have[colRecordQueue] {
		// Data from before the queue existed: queue its pending records.
		err := s.EachRecord(ctx, models.RecordFilter{State: models.RecordPending}, func(r models.ServiceRecord) error {
			return s.QueueRecord(ctx, r)
		})
		if err != nil {
			return err
		}
	}
	if err := s.dropUnusedIndexes(ctx, len(existing) == 0); err != nil {
		return err
	}
	if err := s.listEverythingStoredBefore(ctx); err != nil {
		return err
	}
	// Last: a crash before here leaves no mark, and the next start builds
	// again (every step above is safe to repeat).
	if err := s.insert(ctx, colListHeads, listHeadDoc{ID: mark}); err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return nil
}

// schemaIndexes returns the indexes EnsureSchema builds (every one on
// MongoDB) and, on the embedded store, the ones it leaves out: there only
// the unique indexes are built, for the uniqueness they enforce. The
// embedded store filters by nothing but an exact _id (docs/ARCHITECTURE.md
// §9), so it never reads a non-unique index, and every insert into the
// collection would still pay to keep one: an insert into a collection with
// three cost a fifth more CPU than into one without (docs/PERFORMANCE.md,
// "Indexes the embedded store never reads").
func schemaIndexes(embedded bool) (build, unused []index) {
	if !embedded {
		return indexes, nil
	}
	for _, ix := range indexes {
		if ix.unique {
			build = append(build, ix)
		} else {
			unused = append(unused, ix)
		}
	}
	return build, unused
}

// dropUnusedIndexes removes from the embedded store the non-unique indexes
// an earlier version built there (schemaIndexes). It runs where the schema
// is built, which every database an earlier version built goes through
// once (its schema mark is not this version's); an index gone already is
// as good as removed, so a start that died part way only removes what is
// left, and a new database (fresh: it had no collection) has none.
func (s *Store) dropUnusedIndexes(ctx context.Context, fresh bool) error {
	if s.embedded == nil || fresh {
		return nil
	}
	_, unused := schemaIndexes(true)
	for _, ix := range unused {
		err := s.c(ix.col).Indexes().DropOne(ctx, ix.name())
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.Code == 27) { // 27: IndexNotFound
			return fmt.Errorf("store: drop index %s: %w", ix.name(), err)
		}
	}
	return nil
}

// schemaMark is the _id, in list_heads, of the mark that this version's
// schema is built: it names a hash of every collection, every index
// declared (on the embedded store only the unique ones are built,
// schemaIndexes) and the embedded store's _id index expression, so a
// version that adds any of them builds again. It is the same on either
// kind of store, so a migration's copy of it is the target's own.
func schemaMark() string {
	h := fnv.New64a()
	for _, c := range allCollections {
		fmt.Fprintf(h, "c %s\n", c)
	}
	for _, ix := range indexes {
		fmt.Fprintf(h, "i %s %v %t\n", ix.col, ix.keys, ix.unique)
	}
	fmt.Fprintf(h, "x unique %s\n", idIndexExpression)
	return fmt.Sprintf("done:schema:%016x", h.Sum64())
}
