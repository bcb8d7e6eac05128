package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gofiber/fiber/v2"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
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
			list := reflect.MakeSlice(field.Type(), 0, 2)
			list = reflect.Append(list, reflect.ValueOf(1).Convert(field.Type().Elem()), reflect.ValueOf(4).Convert(field.Type().Elem()))
			field.Set(list)
		default:
			t.Fatalf("models.Policy.%s is of a kind this test cannot fill (%s): teach it", name, field.Type())
		}
	}
	return p
}

// Issue 12.5: the API's mapping of a policy covers every field of
// models.Policy: a policy with every field set comes back whole from the
// JSON the API shows, read as a change staff send; only the fields the API
// does not take from staff (community, version, author) are left out, and
// those it shows are shown.
func TestPolicyMappingCoversEveryField(t *testing.T) {
	want := everyPolicyField(t)
	shown, err := json.Marshal(toPolicyJSON(want))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(shown, &keys); err != nil {
		t.Fatal(err)
	}
	// Every field but the community id is shown, under its own name.
	if got, fields := len(keys), reflect.TypeOf(want).NumField()-1; got != fields {
		t.Errorf("the API shows %d keys for the %d fields of models.Policy besides the community: %s", got, fields, shown)
	}
	var change policyChange
	if err := json.Unmarshal(shown, &change); err != nil {
		t.Fatal(err)
	}
	got := change.apply(models.Policy{})
	got.CommunityID, got.Version, got.CreatedBy = want.CommunityID, want.Version, want.CreatedBy
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("models.Policy.%s: %v after the API's round trip, want %v", gv.Type().Field(i).Name, gv.Field(i), wv.Field(i))
			}
		}
	}
	var version struct {
		Version   int    `json:"version"`
		CreatedBy string `json:"created_by"`
	}
	if err := json.Unmarshal(shown, &version); err != nil || version.Version != want.Version || version.CreatedBy != want.CreatedBy {
		t.Errorf("version and author shown as %+v (%v), want %d %q", version, err, want.Version, want.CreatedBy)
	}
}

// Issue 12.5: the policy's JSON is byte for byte what it was before the
// mapping was written once (the OpenAPI document's shape, in its order).
func TestPolicyJSONIsUnchanged(t *testing.T) {
	for name, tc := range map[string]struct {
		policy models.Policy
		want   string
	}{
		"default": {models.DefaultPolicy("c1"), policyGoldenDefault},
		"every":   {everyPolicyField(t), policyGoldenEvery},
	} {
		got, err := json.Marshal(toPolicyJSON(tc.policy))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.TrimSpace(tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, tc.want)
		}
	}
}

// policyGoldenDefault and policyGoldenEvery were taken from the API before
// the mapping was written once.
const (
	policyGoldenDefault = `{"version":0,"effective":null,"max_award":200,"max_deduct":200,"points_per_hour":10,"max_minutes_per_day":480,"auto_approve_days":7,"claim_expiry_days":0,"checkin_grace_minutes":15,"debt_floor_minutes":600,"gift_min_age":60,"gift_yearly_cap_minutes":6000,"points_lifetime_months":24,"hold_expiry_days":14,"merchant_refund_days":7,"notice_days":7,"listing_days":365,"listing_points":100,"allowance_base":50,"allowance_per_duty":20,"allowance_cap":150,"allowance_pro_rata":true,"duty_checklist":["月度例会","通知送达","问题上报","楼组活动","民意收集"],"one_star_points":200,"two_star_points":500,"model_star_points":1000,"filial_min_age":70,"filial_free_minutes":330,"filial_days":[6,0],"filial_from_minute":480,"filial_to_minute":1140,"filial_visitor_bays":5,"retention_years":3}`
	policyGoldenEvery   = `{"version":101,"effective":"2027-01-02T03:04:05.003Z","created_by":"v-CreatedBy","max_award":104,"max_deduct":105,"points_per_hour":106,"max_minutes_per_day":107,"auto_approve_days":108,"claim_expiry_days":113,"checkin_grace_minutes":109,"debt_floor_minutes":110,"gift_min_age":111,"gift_yearly_cap_minutes":112,"points_lifetime_months":114,"hold_expiry_days":115,"merchant_refund_days":116,"notice_days":117,"listing_days":118,"listing_points":119,"allowance_base":120,"allowance_per_duty":121,"allowance_cap":122,"allowance_pro_rata":true,"duty_checklist":["DutyChecklist-1","DutyChecklist-2"],"one_star_points":125,"two_star_points":126,"model_star_points":127,"filial_min_age":128,"filial_free_minutes":129,"filial_days":[1,4],"filial_from_minute":131,"filial_to_minute":132,"filial_visitor_bays":133,"retention_years":134}`
)

// Issue 12.5: a change staff send is refused as before the mapping was
// written once: by the rule's JSON name (not the embedded struct's), with
// the same code and words (taken from the API before the change).
func TestPolicyChangeRefusalsAreUnchanged(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{"duty_checklist":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 31), ",") + `]}`, "VALIDATION_FAILED duty_checklist must have at most 30 items"},
		{`{"filial_days":[1,9]}`, "VALIDATION_FAILED filial_days[1] must be at most 6"},
		{`{"filial_days":[0,1,2,3,4,5,6,0]}`, "VALIDATION_FAILED filial_days must have at most 7 items"},
		{`{"max_award":"ten"}`, `INVALID_JSON field "max_award" must be a whole number in range`},
		{`{"allowance_pro_rata":1}`, `INVALID_JSON field "allowance_pro_rata" must be true or false`},
		{`{"filial_days":"sat"}`, `INVALID_JSON field "filial_days" must be an array`},
		{`{"version":3}`, `INVALID_JSON unknown field "version"`},
		{`{"created_by":"x"}`, `INVALID_JSON unknown field "created_by"`},
	} {
		app := fiber.New()
		app.Post("/", func(c *fiber.Ctx) error {
			var req policyChange
			err := decode(c, &req)
			var refusal *models.Error
			if !errors.As(err, &refusal) {
				return c.SendString(fmt.Sprintf("not refused: %v", err))
			}
			return c.SendString(string(refusal.Code) + " " + refusal.LocalDetail(false))
		})
		req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != tc.want {
			t.Errorf("%s → %s, want %s", tc.body, got, tc.want)
		}
	}
}
