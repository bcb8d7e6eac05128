package main

import (
	"testing"
)

// A bad row of an import says why in the caller's language, Chinese
// unless English is asked for, in the import's refusal and its preview
// alike (issue 14).
func TestIssue14_ImportReasonsInCallersLanguage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	file := "姓名,手机号,楼栋,房号,出生年份,角色,初始密码\n" +
		"孔居民,13912340101,1号楼,101,1951,resident,chunshen-2026\n" +
		"曹居民,,1号楼,101,1949,resident,chunshen-2026\n" +
		"严居民,13912340103,9号楼,101,1950,resident,chunshen-2026\n"
	type row struct {
		Row     int    `json:"row"`
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	zh := map[int]string{3: "手机号必填", 4: "本社区没有这个名称的楼栋"}
	en := map[int]string{3: "phone is required", 4: "no building of this name in the community"}
	check := func(what string, rows []row, want map[int]string) {
		t.Helper()
		got := map[int]string{}
		for _, r := range rows {
			got[r.Row] = r.Message
		}
		if len(got) != len(want) || got[3] != want[3] || got[4] != want[4] {
			t.Errorf("%s: reasons by row %v; want %v", what, got, want)
		}
	}
	for i, c := range []struct {
		lang string
		want map[int]string
	}{
		{"", zh},
		{"zh-CN", zh},
		{"zh-CN,zh;q=0.9,en;q=0.8", zh},
		{"en", en},
		{"en-US,en;q=0.9,zh-CN;q=0.8", en},
	} {
		hdr := []string{"Content-Type", "text/csv"}
		if c.lang != "" {
			hdr = append(hdr, "Accept-Language", c.lang)
		}
		r := w.call("POST", "/api/v1/imports/residents", staff, file, append(hdr, "Idempotency-Key", "issue14-lang-"+string(rune('a'+i)))...)
		var rej struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
			Rows []row `json:"rows"`
		}
		r.decode(t, &rej)
		if r.Status != 422 || rej.Error.Code != "IMPORT_REJECTED" {
			t.Fatalf("import with Accept-Language %q: %d %s", c.lang, r.Status, r.Body)
		}
		check("import, Accept-Language "+c.lang, rej.Rows, c.want)

		r = w.call("POST", "/api/v1/imports/residents/preview", staff, file, hdr...)
		var pv struct {
			Problems []row `json:"problems"`
		}
		r.decode(t, &pv)
		if r.Status != 200 {
			t.Fatalf("preview with Accept-Language %q: %d %s", c.lang, r.Status, r.Body)
		}
		check("preview, Accept-Language "+c.lang, pv.Problems, c.want)
	}
}
