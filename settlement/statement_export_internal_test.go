package settlement

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// A statement line exported to a partner never carries a phone in full,
// even one typed into a description at the counter.
func TestIssue17_PIPL_ExportMasksPhones(t *testing.T) {
	t.Parallel()
	row := lineRow(models.StatementLine{
		ID: "l1",
		Event: models.SettlementEvent{
			ResidentID:  "r1",
			Description: "孝老停车 联系 13812340005",
			ValueFen:    500,
			At:          time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC),
		},
	}, time.UTC)
	text := fmt.Sprint(row...)
	if strings.Contains(text, "13812340005") || !strings.Contains(text, "138****0005") {
		t.Fatalf("exported line: %s", text)
	}
}
