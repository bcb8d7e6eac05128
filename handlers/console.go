package handlers

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/models"
)

// The routes the community office's console needed and did not find: a
// dry run of a CSV import, and the scheduled jobs with their last runs and
// a run for a period (docs/ARCHITECTURE.md, jobs).

// jobsService lists the scheduled jobs and runs one on demand (jobs.Board).
type jobsService interface {
	List(ctx context.Context, p models.Principal) ([]jobs.Status, error)
	// Run answers a repeat of the request opID with its first run.
	Run(ctx context.Context, p models.Principal, name, period, opID string) (jobs.Run, error)
}

// routesConsole registers the console routes: import previews and the job list (staff, admin),
// an activity's check-ins (organisers) and running a job now (admin only).
func (h *api) routesConsole(r fiber.Router) {
	staff := h.authed(models.RoleStaff, models.RoleAdmin)
	r.Post("/imports/households/preview", staff, h.previewImport(directory.ImportHouseholds))
	r.Post("/imports/residents/preview", staff, h.previewImport(directory.ImportResidents))
	r.Get("/activities/:id/checkins", h.authed(models.RoleStaff, models.RoleAdmin, models.RoleTeamLead), h.listCheckins)
	r.Get("/jobs", staff, h.listJobs)
	r.Post("/jobs/:name/runs", h.authed(models.RoleAdmin), h.runJob)
}

// importPreviewJSON is the answer of an import preview: how many rows the file has,
// whether it would import (OK), how many rows are bad and every problem found.
type importPreviewJSON struct {
	Kind string        `json:"kind"`
	Rows int           `json:"rows"`
	OK   bool          `json:"ok"`
	Bad  int           `json:"bad_rows"`
	List []problemJSON `json:"problems"`
}

// previewImport answers what POST /imports/{kind} would do with the same
// file, writing nothing: 200 with every bad row's problems (none when the
// file would import).
func (h *api) previewImport(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ct := strings.ToLower(c.Get(fiber.HeaderContentType))
		if !strings.HasPrefix(ct, "text/csv") {
			return models.ErrUnsupportedMedia.Withf("Content-Type 必须为 text/csv", "Content-Type must be text/csv")
		}
		if strings.Contains(ct, "charset=") && !strings.Contains(ct, "charset=utf-8") {
			return models.ErrUnsupportedMedia.Withf("文件必须为 UTF-8 编码", "the file must be UTF-8")
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), importTimeout)
		defer cancel()
		body := append([]byte(nil), c.Body()...)
		pv, err := h.Community.PreviewImport(ctx, principal(c), kind, body)
		if err != nil {
			return err
		}
		out := importPreviewJSON{
			Kind: pv.Kind,
			Rows: pv.Rows,
			OK:   len(pv.Problems) == 0,
			List: make([]problemJSON, len(pv.Problems)),
		}
		bad := map[int]bool{}
		zh := wantsChinese(c)
		for i, pr := range pv.Problems {
			out.List[i] = problemJSON{
				Row:     pr.Row,
				Field:   pr.Field,
				Code:    pr.Code,
				Message: pr.Local(zh),
			}
			bad[pr.Row] = true
		}
		out.Bad = len(bad)
		return c.JSON(out)
	}
}

// jobRunJSON is one run of a job: its period, when it started and finished,
// what it counted, and its error when it failed.
type jobRunJSON struct {
	ID       string         `json:"id,omitempty"`
	Job      string         `json:"job"`
	Period   string         `json:"period"`
	Started  time.Time      `json:"started"`
	Finished *time.Time     `json:"finished,omitempty"`
	Counts   map[string]int `json:"counts"`
	Error    string         `json:"error,omitempty"`
}

// jobJSON is one scheduled job as the console lists it: its cron schedule, the period
// a scheduled run would take now, whether an admin may run it, and its last runs.
type jobJSON struct {
	Name     string       `json:"name"`
	Schedule string       `json:"schedule"`
	Period   string       `json:"period"`
	Runnable bool         `json:"runnable"`
	Runs     []jobRunJSON `json:"runs"`
}

// toJobRunJSON converts a job run to its JSON, with empty counts as {} and no
// finish time while the run is under way.
func toJobRunJSON(r jobs.Run) jobRunJSON {
	out := jobRunJSON{
		ID:      r.ID,
		Job:     r.Job,
		Period:  r.Period,
		Started: r.Started,
		Counts:  r.Counts,
		Error:   r.Error,
	}
	if out.Counts == nil {
		out.Counts = map[string]int{}
	}
	if !r.Finished.IsZero() {
		f := r.Finished
		out.Finished = &f
	}
	return out
}

// listJobs answers the scheduled jobs, each with its last runs.
func (h *api) listJobs(c *fiber.Ctx) error {
	list, err := h.Jobs.List(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := make([]jobJSON, len(list))
	for i, s := range list {
		runs := make([]jobRunJSON, len(s.Runs))
		for k, r := range s.Runs {
			runs[k] = toJobRunJSON(r)
		}
		out[i] = jobJSON{
			Name:     s.Name,
			Schedule: s.Spec,
			Period:   s.Period,
			Runnable: s.Runnable,
			Runs:     runs,
		}
	}
	return c.JSON(fiber.Map{"jobs": out})
}

// runJobBody is the body of POST /jobs/{name}/runs: the period to run (empty for
// the one a scheduled run would take now).
type runJobBody struct {
	Period string `json:"period" validate:"omitempty,max=10"`
}

// runJob runs a job for a period now; repeating it is safe (every job is).
func (h *api) runJob(c *fiber.Ctx) error {
	var body runJobBody
	if err := decode(c, &body); err != nil {
		return err
	}
	return h.keyedIfKey(c, func(idem community.Idempotency) error {
		run, err := h.Jobs.Run(c.UserContext(), principal(c), c.Params("name"), body.Period, idem.OpID)
		if err != nil {
			return err
		}
		return c.JSON(toJobRunJSON(run))
	})
}

// checkinJSON is one check-in to an activity: who, when, who recorded it, and the
// activity's day it counts for.
type checkinJSON struct {
	ResidentID string    `json:"resident_id"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`  // the resident (a scan) or the organiser who recorded it
	Day        string    `json:"day"` // the activity's day it counts for, 2006-01-02 in the community's zone
}

// listCheckins answers who has checked in to an activity so far (of one `day`, if
// given), with the activity's days and the day a check-in now counts for.
func (h *api) listCheckins(c *fiber.Ctx) error {
	day := c.Query("day")
	if len(day) > 10 {
		return models.ErrValidation.Withf("day 的格式应为 2026-11-21", "day must look like 2026-11-21")
	}
	got, err := h.Timebank.Checkins(c.UserContext(), principal(c), param(c, "id"), day)
	if err != nil {
		return err
	}
	out := make([]checkinJSON, len(got.Checkins))
	for i, m := range got.Checkins {
		out[i] = checkinJSON{
			ResidentID: m.ResidentID,
			At:         m.At,
			By:         m.Actor,
			Day:        m.Day,
		}
	}
	// days: the activity's days; today: the community's day now, as a
	// check-in now would count (the check-in screen's day and count).
	return c.JSON(fiber.Map{
		"checkins": out,
		"days":     got.Days,
		"today":    got.Today,
	})
}
