package framed

import "syscall"

// errTooManyFiles is the accept error that calls for a retry after a pause.
var errTooManyFiles error = syscall.EMFILE
