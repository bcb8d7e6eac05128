package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

const (
	piplPhone = "13812340005"
	piplID    = "310101195001011234"
	// Another 32-byte key, so a test can rotate to it.
	piplNewKey = "k2:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2A="
)

// mustKeys parses a data-key spec with storetest's index key.
func mustKeys(t *testing.T, spec string) *store.DataKeys {
	t.Helper()
	k, err := store.ParseDataKeys(spec, storetest.IndexKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// piplResident stores a resident with a phone, a birth year and an ID
// number, and its login.
func piplResident(t *testing.T, st *store.Store, id string) models.Resident {
	t.Helper()
	ctx := context.Background()
	r := models.Resident{
		ID:          id,
		CommunityID: "c1",
		Name:        "王阿姨",
		Phone:       piplPhone,
		BirthYear:   1950,
		IDNumber:    piplID,
		Roles:       []models.Role{models.RoleResident},
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if err := st.InsertResident(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertLogin(ctx, models.Login{
		Phone:        piplPhone,
		ResidentID:   id,
		CommunityID:  "c1",
		PasswordHash: "h1",
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// The phone, ID number and birth year are not in the stored documents;
// the resident and the login read back whole, and the login is found by
// its phone.
func TestIssue17_PIPL_SealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	want := piplResident(t, st, "r1")
	raw, err := st.RawDocument(ctx, "residents", "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{piplPhone, piplID, "1950", "5678", "0005"} {
		if strings.Contains(raw, secret) {
			t.Errorf("stored resident holds %q: %s", secret, raw)
		}
	}
	if !strings.Contains(raw, `"phone_sealed":"s1:test1:`) {
		t.Errorf("stored resident's phone is not sealed under test1: %s", raw)
	}
	login, err := st.RawDocument(ctx, "logins", st.PhoneIndex(piplPhone))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(login, piplPhone) {
		t.Errorf("stored login holds the phone: %s", login)
	}
	got, err := st.Resident(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != want.Phone || got.BirthYear != want.BirthYear || got.IDNumber != want.IDNumber || got.Name != want.Name {
		t.Fatalf("resident read back as %+v, want %+v", got, want)
	}
	l, err := st.LoginByPhone(ctx, piplPhone)
	if err != nil || l.ResidentID != "r1" || l.Phone != piplPhone {
		t.Fatalf("login by phone: %+v, %v", l, err)
	}
	if err := st.InsertLogin(ctx, models.Login{
		Phone:       piplPhone,
		ResidentID:  "r2",
		CommunityID: "c1",
	}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a second login for the phone: %v, want a conflict", err)
	}
	// A profile edit keeps the birth year sealed.
	if err := st.SetResidentProfile(ctx, "r1", "王阿姨", 1951, ""); err != nil {
		t.Fatal(err)
	}
	raw, _ = st.RawDocument(ctx, "residents", "r1")
	if strings.Contains(raw, "1951") || strings.Contains(raw, "birth_year") {
		t.Fatalf("profile edit stored the birth year in clear: %s", raw)
	}
	if got, _ := st.Resident(ctx, "r1"); got.BirthYear != 1951 {
		t.Fatalf("birth year after edit: %d", got.BirthYear)
	}
}

// A sealed value copied onto another resident does not open there.
func TestIssue17_PIPL_SealedValueBoundToItsDocument(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	piplResident(t, st, "r1")
	var doc struct {
		Phone string `bson:"phone_sealed"`
	}
	raw, _ := st.RawDocument(ctx, "residents", "r1")
	if err := bson.UnmarshalExtJSON([]byte(raw), false, &doc); err != nil {
		t.Fatal(err)
	}
	err := st.InsertRawDocument(ctx, "residents", bson.D{
		{Key: "_id", Value: "r2"},
		{Key: "community", Value: "c1"},
		{Key: "name", Value: "x"},
		{Key: "phone_sealed", Value: doc.Phone},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Resident(ctx, "r2"); err == nil {
		t.Fatal("a sealed phone copied to another resident opened")
	}
}

// Documents written before sealing (phone and birth year in clear, the
// login under the phone itself) are read as they are, and a reseal pass
// seals them; a pass after a key rotation seals everything under the new
// key, after which the old key is no longer needed; a second pass finds
// nothing to do.
func TestIssue17_PIPL_LegacyAndRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	legacy := []bson.D{
		{{Key: "_id", Value: "old"}, {Key: "community", Value: "c1"}, {Key: "name", Value: "李伯伯"},
			{Key: "phone", Value: "13900000009"}, {Key: "birth_year", Value: 1948}, {Key: "roles", Value: bson.A{"resident"}}},
	}
	for _, d := range legacy {
		if err := st.InsertRawDocument(ctx, "residents", d); err != nil {
			t.Fatal(err)
		}
	}
	err := st.InsertRawDocument(ctx, "logins", bson.D{
		{Key: "_id", Value: "13900000009"}, {Key: "resident", Value: "old"}, {Key: "community", Value: "c1"}, {Key: "password_hash", Value: "h0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	piplResident(t, st, "new")
	// Read both forms.
	if r, err := st.Resident(ctx, "old"); err != nil || r.Phone != "13900000009" || r.BirthYear != 1948 {
		t.Fatalf("legacy resident: %+v, %v", r, err)
	}
	if l, err := st.LoginByPhone(ctx, "13900000009"); err != nil || l.ResidentID != "old" {
		t.Fatalf("legacy login: %+v, %v", l, err)
	}
	if err := st.InsertLogin(ctx, models.Login{
		Phone:       "13900000009",
		ResidentID:  "x",
		CommunityID: "c1",
	}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a login for a phone with a legacy login: %v, want a conflict", err)
	}

	// Rotate: the new key first, the old one kept to open.
	st.UseDataKeys(mustKeys(t, piplNewKey+","+storetest.DataKeys))
	c, err := st.ResealPersonalData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Resealed != 2 || c.LoginsMoved != 2 || c.Remaining != 0 {
		t.Fatalf("reseal: %+v, want 2 residents and 2 logins", c)
	}
	for _, id := range []string{"old", "new"} {
		raw, _ := st.RawDocument(ctx, "residents", id)
		if strings.Contains(raw, "1390000000") || strings.Contains(raw, piplPhone) || strings.Contains(raw, "s1:test1:") || !strings.Contains(raw, "s1:k2:") {
			t.Errorf("resident %s after reseal: %s", id, raw)
		}
	}
	if _, err := st.RawDocument(ctx, "logins", "13900000009"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the login under the phone in clear is still there: %v", err)
	}
	// Only the new key now: everything still opens.
	st.UseDataKeys(mustKeys(t, piplNewKey))
	for _, phone := range []string{"13900000009", piplPhone} {
		l, err := st.LoginByPhone(ctx, phone)
		if err != nil || l.Phone != phone {
			t.Fatalf("login %s after rotation: %+v, %v", phone, l, err)
		}
		r, err := st.Resident(ctx, l.ResidentID)
		if err != nil || r.Phone != phone {
			t.Fatalf("resident of %s after rotation: %+v, %v", phone, r, err)
		}
	}
	if l, _ := st.LoginByPhone(ctx, "13900000009"); l.PasswordHash != "h0" {
		t.Fatalf("moved login lost its password hash: %+v", l)
	}
	again, err := st.ResealPersonalData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Resealed != 0 || again.LoginsMoved != 0 || again.Residents != 2 || again.Logins != 2 {
		t.Fatalf("second pass: %+v, want nothing to do", again)
	}
}

// A pass that died between copying a login to its blind index and
// deleting the old one leaves both; the login is found, and the next pass
// finishes the move.
func TestIssue17_PIPL_RotationCrashBetweenCopyAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	phone := "13900000010"
	for _, d := range []bson.D{
		{{Key: "_id", Value: phone}, {Key: "resident", Value: "old"}, {Key: "community", Value: "c1"}, {Key: "password_hash", Value: "h0"}},
	} {
		if err := st.InsertRawDocument(ctx, "logins", d); err != nil {
			t.Fatal(err)
		}
	}
	// The first pass copies and deletes.
	if _, err := st.ResealPersonalData(ctx); err != nil {
		t.Fatal(err)
	}
	// Put the legacy document back beside its copy: the state of a crash.
	if err := st.InsertRawDocument(ctx, "logins", bson.D{
		{Key: "_id", Value: phone}, {Key: "resident", Value: "old"}, {Key: "community", Value: "c1"}, {Key: "password_hash", Value: "h0"},
	}); err != nil {
		t.Fatal(err)
	}
	if l, err := st.LoginByPhone(ctx, phone); err != nil || l.ResidentID != "old" {
		t.Fatalf("login in the crash state: %+v, %v", l, err)
	}
	c, err := st.ResealPersonalData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginsMoved != 1 {
		t.Fatalf("resumed pass: %+v", c)
	}
	if _, err := st.RawDocument(ctx, "logins", phone); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("legacy login left after the resumed pass: %v", err)
	}
	if l, err := st.LoginByPhone(ctx, phone); err != nil || l.PasswordHash != "h0" {
		t.Fatalf("login after the resumed pass: %+v, %v", l, err)
	}
}

// BenchmarkIssue17_ResealPersonalData times one rotate-keys pass over
// 1,000 residents and their logins sealed under the old key. Run it with
//
//	go test -run '^$' -bench Issue17_Reseal -benchtime 1x ./store/
func BenchmarkIssue17_ResealPersonalData(b *testing.B) {
	ctx := context.Background()
	const n = 1000
	for range b.N {
		b.StopTimer()
		st := storetest.New(b)
		for i := range n {
			id := fmt.Sprintf("r%05d", i)
			phone := fmt.Sprintf("139%08d", i)
			if err := st.InsertResident(ctx, models.Resident{
				ID:          id,
				CommunityID: "c1",
				Name:        "x",
				Phone:       phone,
				BirthYear:   1950,
			}); err != nil {
				b.Fatal(err)
			}
			if err := st.InsertLogin(ctx, models.Login{
				Phone:       phone,
				ResidentID:  id,
				CommunityID: "c1",
			}); err != nil {
				b.Fatal(err)
			}
		}
		keys, err := store.ParseDataKeys(piplNewKey+","+storetest.DataKeys, storetest.IndexKey)
		if err != nil {
			b.Fatal(err)
		}
		st.UseDataKeys(keys)
		b.StartTimer()
		c, err := st.ResealPersonalData(ctx)
		if err != nil || c.Resealed != n || c.LoginsMoved != n {
			b.Fatalf("%+v %v", c, err)
		}
	}
}
