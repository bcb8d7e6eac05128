package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Residents' sensitive fields (phone, ID number, birth year) are stored
// sealed: AES-256-GCM under a data key from the environment, as
// "s1:<key id>:<base64url(nonce ‖ ciphertext)>", with the collection, the
// document's _id and the field name as additional data, so a sealed value
// copied onto another document or field does not open. A phone is found at
// login by its blind index, an HMAC-SHA256 of the normalised phone under a
// separate index key (docs/ARCHITECTURE.md §11).

// sealedPrefix starts every sealed value; a value without it is a field
// stored in clear before sealing existed, read as it is.
const sealedPrefix = "s1:"

// phoneIndexPrefix starts a login's _id made from the blind index of its
// phone; a login stored before sealing has the phone itself as its _id.
const phoneIndexPrefix = "ph:"

// DataKeys seal and open residents' personal fields, and index phones.
// The first key of the spec seals; all of them open, so a rotation can
// re-seal what older keys sealed while everything stays readable.
type DataKeys struct {
	current string
	aeads   map[string]cipher.AEAD
	index   []byte
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseDataKeys reads spec ("id1:base64key,id0:base64oldkey", the first is
// current; each key 32 bytes, standard base64) and the index key (32 bytes,
// standard base64).
func ParseDataKeys(spec, indexKey string) (*DataKeys, error) {
	k := &DataKeys{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("data keys: entry %d: want id:base64key with an id of letters, digits, - or _", i+1)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("data keys: key id %q twice", id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("data keys: key %q: want 32 bytes in standard base64", id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("data keys: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("data keys: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		if i == 0 {
			k.current = id
		}
	}
	idx, err := base64.StdEncoding.DecodeString(strings.TrimSpace(indexKey))
	if err != nil || len(idx) != 32 {
		return nil, errors.New("index key: want 32 bytes in standard base64")
	}
	k.index = idx
	return k, nil
}

// NewDataKeySpec returns a fresh data-key spec with one key named id and a
// fresh index key, for a store with no keys configured.
func NewDataKeySpec(id string) (spec, indexKey string, err error) {
	data := make([]byte, 32)
	idx := make([]byte, 32)
	if _, err := rand.Read(data); err != nil {
		return "", "", err
	}
	if _, err := rand.Read(idx); err != nil {
		return "", "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(data), base64.StdEncoding.EncodeToString(idx), nil
}

// Current is the id of the key that seals.
func (k *DataKeys) Current() string { return k.current }

// seal returns plain sealed under the current key for field of document
// id in col; "" stays "".
func (k *DataKeys) seal(col, id, field, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", field, err)
	}
	out := aead.Seal(nonce, nonce, []byte(plain), sealAAD(col, id, field))
	return sealedPrefix + k.current + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the plain text of a sealed value and the id of the key that
// sealed it; a value in clear (stored before sealing) comes back as it is
// with key id "".
func (k *DataKeys) open(col, id, field, value string) (plain, keyID string, err error) {
	rest, sealed := strings.CutPrefix(value, sealedPrefix)
	if !sealed {
		return value, "", nil
	}
	keyID, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", "", fmt.Errorf("open %s of %s: malformed sealed value", field, id)
	}
	aead, known := k.aeads[keyID]
	if !known {
		return "", "", fmt.Errorf("open %s of %s: data key %q is not configured", field, id, keyID)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", "", fmt.Errorf("open %s of %s: malformed sealed value", field, id)
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], sealAAD(col, id, field))
	if err != nil {
		return "", "", fmt.Errorf("open %s of %s: %w", field, id, err)
	}
	return string(out), keyID, nil
}

// sealedUnder is the id of the key that sealed value ("" if in clear).
func sealedUnder(value string) string {
	rest, sealed := strings.CutPrefix(value, sealedPrefix)
	if !sealed {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// sealAAD binds a sealed value to where it is stored.
func sealAAD(col, id, field string) []byte {
	return []byte(col + "\x00" + id + "\x00" + field)
}

// phoneIndex is the blind index of phone: HMAC-SHA256 of the normalised
// phone under the index key, in hex, behind phoneIndexPrefix.
func (k *DataKeys) phoneIndex(phone string) string {
	if n, err := models.NormalizePhone(phone); err == nil {
		phone = n
	}
	mac := hmac.New(sha256.New, k.index)
	mac.Write([]byte("phone\x00" + phone))
	return phoneIndexPrefix + hex.EncodeToString(mac.Sum(nil))
}

// errNoDataKeys is returned by a read or write of personal fields on a
// store given no data keys (Store.UseDataKeys).
var errNoDataKeys = errors.New("store: no data keys configured (LINLI_DATA_KEYS)")

// UseDataKeys sets the keys that seal and open residents' personal fields.
// Call it once, before the store serves requests.
func (s *Store) UseDataKeys(k *DataKeys) { s.dataKeys = k }

// keys returns the data keys, or errNoDataKeys.
func (s *Store) keys() (*DataKeys, error) {
	if s.dataKeys == nil {
		return nil, errNoDataKeys
	}
	return s.dataKeys, nil
}

// birthText is a birth year as sealed ("" when unknown).
func birthText(year int) string {
	if year == 0 {
		return ""
	}
	return strconv.Itoa(year)
}

// sealResident sets d's sealed fields from the plain values, under the
// current key, and clears the fields stored in clear before sealing.
func (s *Store) sealResident(d *residentDoc, phone string, birthYear int, idNumber string) error {
	keys, err := s.keys()
	if err != nil {
		return err
	}
	d.Phone, d.BirthYear, d.PhoneIndex = "", 0, ""
	if d.PhoneSealed, err = keys.seal(colResidents, d.ID, "phone", phone); err != nil {
		return err
	}
	if phone != "" {
		d.PhoneIndex = keys.phoneIndex(phone)
	}
	if d.BirthSealed, err = keys.seal(colResidents, d.ID, "birth", birthText(birthYear)); err != nil {
		return err
	}
	d.IDSealed, err = keys.seal(colResidents, d.ID, "id_number", idNumber)
	return err
}

// personal is a resident's opened personal fields.
type personal struct {
	phone     string
	birthYear int
	idNumber  string
}

// openResident opens d's personal fields, whichever form they are in: a
// sealed field wins over one in clear, which only a document written
// before sealing holds.
func (s *Store) openResident(d residentDoc) (personal, error) {
	p := personal{phone: d.Phone, birthYear: d.BirthYear}
	if d.PhoneSealed == "" && d.BirthSealed == "" && d.IDSealed == "" {
		return p, nil
	}
	keys, err := s.keys()
	if err != nil {
		return personal{}, err
	}
	if d.PhoneSealed != "" {
		if p.phone, _, err = keys.open(colResidents, d.ID, "phone", d.PhoneSealed); err != nil {
			return personal{}, fmt.Errorf("store: resident: %w", err)
		}
	}
	if d.BirthSealed != "" {
		text, _, err := keys.open(colResidents, d.ID, "birth", d.BirthSealed)
		if err != nil {
			return personal{}, fmt.Errorf("store: resident: %w", err)
		}
		if p.birthYear, err = strconv.Atoi(text); err != nil {
			return personal{}, fmt.Errorf("store: resident %s: birth year: %w", d.ID, err)
		}
	}
	if d.IDSealed != "" {
		if p.idNumber, _, err = keys.open(colResidents, d.ID, "id_number", d.IDSealed); err != nil {
			return personal{}, fmt.Errorf("store: resident: %w", err)
		}
	}
	return p, nil
}

// updateByID applies update to the document with _id id;
// models.ErrNotFound if there is none.
func (s *Store) updateByID(ctx context.Context, col, id string, update bson.D) error {
	var res *mongo.UpdateResult
	err := s.write(ctx, func() (err error) {
		res, err = s.c(col).UpdateOne(ctx, byID(id), update)
		return err
	})
	if err != nil {
		return s.count(mapErr("update "+col, err), "update "+col)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("store: update %s: %w", col, models.ErrNotFound)
	}
	return nil
}
