package send

// maxReplyBytes is how much of a reply a sender keeps: enough for an error
// message, not enough for a hostile receiver to fill memory.
const maxReplyBytes = 4 << 10
