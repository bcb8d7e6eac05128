package directory

import (
	"context"
	"fmt"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// ImportPreview is what an import of a file would do, found without
// writing anything: the data rows and each bad row's problems.
type ImportPreview struct {
	Kind     string
	Rows     int
	Problems []models.ImportProblem
}

// PreviewImport checks a households or residents CSV file exactly as the
// import does (the header, every row against the file and the store) and
// writes nothing, so staff see each bad row's reason before the import.
// A file that passes may still meet a change made in between; the import
// checks again and is all or nothing.
func (s *Service) PreviewImport(ctx context.Context, p models.Principal, kind string, data []byte) (ImportPreview, error) {
	if err := community.RequireStaff(p); err != nil {
		return ImportPreview{}, err
	}
	cols, ok := importColumns[kind]
	if !ok {
		return ImportPreview{}, models.ErrValidation.Withf("不支持导入 %q", "cannot import %q", kind)
	}
	header, records, err := readCSV(data, cols)
	if err != nil {
		return ImportPreview{}, err
	}
	out := ImportPreview{Kind: kind, Rows: len(records)}
	if header != nil {
		out.Problems = capProblems(header)
		return out, nil
	}
	// The derived ids the check makes are never written: any op id will do.
	const previewOp = "preview"
	var problems []models.ImportProblem
	if kind == ImportHouseholds {
		_, problems, err = s.checkHouseholds(ctx, p, previewOp, records)
	} else {
		_, problems, err = s.checkResidents(ctx, p, previewOp, records)
	}
	if err != nil {
		return ImportPreview{}, fmt.Errorf("preview %s: %w", kind, err)
	}
	out.Problems = capProblems(problems)
	return out, nil
}
