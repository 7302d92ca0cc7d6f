package localanchor

// sep9Fields are the SEP-9 fields the anchor knows, with the type SEP-9
// gives each and a description for provided_fields. A field the anchor
// does not know is typed by how it came (a multipart file part is binary,
// anything else a string) and described as such.
var sep9Fields = map[string]sep9Field{
	"last_name":                   {"string", "family or last name"},
	"first_name":                  {"string", "given or first name"},
	"additional_name":             {"string", "middle name or other additional name"},
	"address_country_code":        {"string", "country code of the current address"},
	"state_or_province":           {"string", "name of state or province"},
	"city":                        {"string", "name of city or town"},
	"postal_code":                 {"string", "postal or other code of the address"},
	"address":                     {"string", "entire address as a multi-line string"},
	"mobile_number":               {"string", "mobile phone number, with country code"},
	"mobile_number_format":        {"string", "the format of mobile_number"},
	"email_address":               {"string", "email address"},
	"birth_date":                  {"date", "date of birth"},
	"birth_place":                 {"string", "place of birth"},
	"birth_country_code":          {"string", "country of birth, ISO alpha-3 code"},
	"tax_id":                      {"string", "tax identifier in the customer's country"},
	"tax_id_name":                 {"string", "name of the tax identifier"},
	"occupation":                  {"number", "occupation ISCO code"},
	"employer_name":               {"string", "name of employer"},
	"employer_address":            {"string", "address of employer"},
	"language_code":               {"string", "primary language, ISO 639-1"},
	"id_type":                     {"string", "type of ID document"},
	"id_country_code":             {"string", "country issuing the ID, ISO alpha-3 code"},
	"id_issue_date":               {"date", "ID issue date"},
	"id_expiration_date":          {"date", "ID expiration date"},
	"id_number":                   {"string", "passport or ID number"},
	"photo_id_front":              {"binary", "image of the front of the photo ID or passport"},
	"photo_id_back":               {"binary", "image of the back of the photo ID or passport"},
	"notary_approval_of_photo_id": {"binary", "notary's approval of the photo ID or passport"},
	"ip_address":                  {"string", "IP address of the customer's computer"},
	"photo_proof_residence":       {"binary", "image of a utility bill or bank statement with the customer's name and address"},
	"sex":                         {"string", "male, female or other"},
	"proof_of_income":             {"binary", "image of a proof of income"},
	"proof_of_liveness":           {"binary", "video or image file of the customer as liveness proof"},
	"referral_id":                 {"string", "the customer's origin (a code, a name, a URL)"},
	"bank_account_number":         {"string", "number of the bank account"},
	"bank_account_type":           {"string", "type of bank account"},
	"bank_number":                 {"string", "number identifying the bank"},
	"bank_phone_number":           {"string", "phone number with country code of the bank"},
	"bank_branch_number":          {"string", "number identifying the bank branch"},
	"external_transfer_memo":      {"string", "memo of an external transfer"},
	"clabe_number":                {"string", "bank account number for Mexico"},
	"cbu_number":                  {"string", "bank account number for Argentina"},
	"cbu_alias":                   {"string", "the alias of a CBU or CVU"},
	"mobile_money_number":         {"string", "mobile money account number"},
	"mobile_money_provider":       {"string", "name of the mobile money service provider"},
	"crypto_address":              {"string", "address of a cryptocurrency account"},
	"crypto_memo":                 {"string", "a destination tag or memo of a crypto_address"},
}

// sep9Field is what SEP-9 says of one field.
type sep9Field struct {
	typ, description string
}

// fieldInfo returns the type and description of the field name, given
// whether it came as a file.
func fieldInfo(name string, file bool) (typ, description string) {
	if f, ok := sep9Fields[name]; ok {
		return f.typ, f.description
	}
	if file {
		return "binary", "a file, in a field SEP-9 does not define"
	}
	return "string", "a field SEP-9 does not define"
}
