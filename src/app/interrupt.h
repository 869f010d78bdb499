// interrupt.h: Ctrl-C (SIGINT) and SIGTERM as a request to stop cleanly
// (docs/robustness.md). A long command installs the handlers once, polls
// interrupted() between steps, saves what it has, and exits with
// interrupt_exit_code() (130 for SIGINT, 143 for SIGTERM, the shell convention).
// A second signal while the first is being handled kills the process at once
// (the default action), so a stuck save can still be stopped.
#pragma once

// Installs the SIGINT and SIGTERM handlers (idempotent). Blocking reads are not
// restarted: they fail with EINTR, so a loop reading a pipe sees the interrupt.
void install_interrupt_handlers();
// Restores the default actions (e.g. when the long work is over).
void remove_interrupt_handlers();
// True once a handled signal arrived.
bool interrupted();
// The signal that arrived (SIGINT or SIGTERM), 0 if none.
int interrupt_signal();
// 128 + the signal number, 0 if none arrived.
int interrupt_exit_code();
// Forget an interrupt (tests).
void clear_interrupt();
