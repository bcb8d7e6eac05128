package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/linli-community/linli/store"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// measureRaw is the floor to compare against: the same embedded store,
// collections of the same size with the same _id index, doing through the
// driver only the inserts and _id reads each operation needs.
func measureRaw(ctx context.Context, dir string, size, clients int, d time.Duration) ([]result, error) {
	emb, err := store.StartEmbedded(dir, false, nil)
	if err != nil {
		return nil, err
	}
	defer emb.Stop()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		return nil, err
	}
	// The service keeps its data keys in the data folder (store/sealed_local.go).
	keys, err := store.LocalDataKeys(dir)
	if err != nil {
		return nil, err
	}
	st.UseDataKeys(keys)
	if err := st.EnsureSchema(ctx); err != nil { // collections and their _id index
		return nil, err
	}
	_ = st.Close(ctx)
	cl, err := mongo.Connect(options.Client().ApplyURI(emb.URI()))
	if err != nil {
		return nil, err
	}
	defer cl.Disconnect(context.Background())
	db := cl.Database("linli")
	entries, ops := db.Collection("ledger_entries"), db.Collection("ledger_ops")
	redemptions, events := db.Collection("redemptions"), db.Collection("settlement_events")
	for start := 0; start < size; start += 1000 {
		var batch, opBatch []any
		for i := start; i < min(start+1000, size); i++ {
			batch = append(batch, bson.D{{Key: "_id", Value: fmt.Sprintf("acct:pre%d:POINTS:%012d", i%8000, i)}, {Key: "delta", Value: 1}, {Key: "balance_after", Value: i}})
			opBatch = append(opBatch, bson.D{{Key: "_id", Value: fmt.Sprintf("k:pre:%d", i)}, {Key: "hash", Value: "h"}})
		}
		if _, err := entries.InsertMany(ctx, batch); err != nil {
			return nil, err
		}
		if _, err := ops.InsertMany(ctx, opBatch); err != nil {
			return nil, err
		}
	}
	pick := func() string { i := mrand.IntN(size); return fmt.Sprintf("acct:pre%d:POINTS:%012d", i%8000, i) }
	read := func(ctx context.Context, id string) error {
		err := entries.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err()
		if err == mongo.ErrNoDocuments {
			return nil
		}
		return err
	}
	run := randomHex(4)
	var out []result
	// Each write operation is measured twice: as the issue asks, eight
	// clients inserting at will, and with the inserts taking turns as the
	// service's do (store.Store.write), which shows what the store itself
	// can do once SQLite's busy waits are out of the way.
	var turn sync.Mutex
	for _, turns := range []bool{false, true} {
		insert := func(ctx context.Context, col *mongo.Collection, doc bson.D) error {
			if turns {
				turn.Lock()
				defer turn.Unlock()
			}
			_, err := col.InsertOne(ctx, doc)
			return err
		}
		suffix := ""
		if turns {
			suffix = ", in turn"
		}
		out = append(out, drive(ctx, "raw: award's writes"+suffix, clients, d, func(ctx context.Context, c, i int) error {
			// the head read, the op record, the entry
			if err := read(ctx, pick()); err != nil {
				return err
			}
			if err := insert(ctx, ops, bson.D{{Key: "_id", Value: fmt.Sprintf("k:%s:%t:%d:%d", run, turns, c, i)}, {Key: "hash", Value: "h"}}); err != nil {
				return err
			}
			return insert(ctx, entries, bson.D{{Key: "_id", Value: fmt.Sprintf("acct:%s%t%d:POINTS:%012d", run, turns, c, i)}, {Key: "delta", Value: 5}})
		}))
		out = append(out, drive(ctx, "raw: redeem's writes"+suffix, clients, d, func(ctx context.Context, c, i int) error {
			// the head read, the hold's op record and entry, the redemption
			if err := read(ctx, pick()); err != nil {
				return err
			}
			for _, col := range []*mongo.Collection{ops, entries, redemptions} {
				if err := insert(ctx, col, bson.D{{Key: "_id", Value: fmt.Sprintf("r:%s:%t:%d:%d", run, turns, c, i)}, {Key: "v", Value: 1}}); err != nil {
					return err
				}
			}
			return nil
		}))
		out = append(out, drive(ctx, "raw: scan's writes"+suffix, clients, d, func(ctx context.Context, c, i int) error {
			// the head read; the token consumed, the hold's op record and
			// entry, the redemption, its settlement event
			if err := read(ctx, pick()); err != nil {
				return err
			}
			for j, col := range []*mongo.Collection{redemptions, ops, entries, redemptions, events} {
				if err := insert(ctx, col, bson.D{{Key: "_id", Value: fmt.Sprintf("s:%s:%t:%d:%d:%d", run, turns, c, i, j)}, {Key: "v", Value: 1}}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	out = append(out, drive(ctx, "raw: balance's reads", clients, d, func(ctx context.Context, c, i int) error {
		for range 2 { // one head per asset
			if err := read(ctx, pick()); err != nil {
				return err
			}
		}
		return nil
	}))
	out = append(out, drive(ctx, "raw: first page's reads", clients, d, func(ctx context.Context, c, i int) error {
		for range 20 {
			if err := read(ctx, pick()); err != nil {
				return err
			}
		}
		return nil
	}))
	return out, nil
}
