package wallet

// maxReplyBytes is how much of an anchor's reply is read: enough for an
// error message, not enough for a hostile server to fill memory.
const maxReplyBytes = 4 << 10
