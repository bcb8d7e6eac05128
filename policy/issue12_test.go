package policy_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store/storetest"
)

// everyPolicyField returns a policy whose every field is set to a distinct
// non-zero value, found by reflection, so a field added to models.Policy is
// set here without anyone remembering to.
func everyPolicyField(t *testing.T) models.Policy {
	t.Helper()
	var p models.Policy
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		field, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case field.Type() == reflect.TypeOf(time.Time{}):
			field.Set(reflect.ValueOf(time.Date(2027, 1, 2, 3, 4, 5, int(time.Millisecond)*(i+1), time.UTC)))
		case field.Kind() == reflect.String:
			field.SetString("v-" + name)
		case field.Kind() == reflect.Int || field.Kind() == reflect.Int64:
			field.SetInt(int64(100 + i))
		case field.Kind() == reflect.Bool:
			field.SetBool(true)
		case field.Kind() == reflect.Slice && field.Type().Elem().Kind() == reflect.String:
			field.Set(reflect.ValueOf([]string{name + "-1", name + "-2"}))
		case field.Kind() == reflect.Slice && field.Type().Elem().Kind() == reflect.Int:
			elem := field.Type().Elem()
			field.Set(reflect.Append(reflect.MakeSlice(field.Type(), 0, 2), reflect.ValueOf(1).Convert(elem), reflect.ValueOf(4).Convert(elem)))
		default:
			t.Fatalf("models.Policy.%s is of a kind this test cannot fill (%s): teach it", name, field.Type())
		}
	}
	return p
}

// Issue 12.5: the store's mapping of a policy covers every field of
// models.Policy: a version with every field set to a distinct value is read
// back whole from the embedded store.
func TestPolicyStoreKeepsEveryField(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	want := everyPolicyField(t)
	// A community's versions are numbered from 1 with no gap, as the
	// service writes them, and the store reads them so.
	want.Version = 1
	if err := st.InsertPolicy(ctx, want, ""); err != nil {
		t.Fatal(err)
	}
	versions, err := st.PolicyVersions(ctx, want.CommunityID)
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: %d %v", len(versions), err)
	}
	got := versions[0]
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("models.Policy.%s: %v read back, want %v", gv.Type().Field(i).Name, gv.Field(i), wv.Field(i))
		}
	}
}
