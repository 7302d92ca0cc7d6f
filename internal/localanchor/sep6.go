package localanchor

// transactionCustomerLocked returns the id of the customer of the SEP-6
// transaction id, if the transaction is key's; "" if not.
func (a *Anchor) transactionCustomerLocked(key, id string) string { return "" }

func (a *Anchor) customerChangedLocked(c *customer) {}
