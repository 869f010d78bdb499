// interrupt.cpp: see interrupt.h.
#include "app/interrupt.h"

#include <signal.h>

#include <csignal>
#include <cstring>

// Written by the handler, read by the program: a lock-free atomic int is
// async-signal-safe, as sig_atomic_t is.
static volatile std::sig_atomic_t g_signal = 0;

// SA_RESETHAND (below) restores the default action on entry: a second Ctrl-C
// stops a stuck save.
extern "C" void fam_on_interrupt(int sig) { g_signal = sig; }

void install_interrupt_handlers() {
    // no SA_RESTART: a read blocked on a terminal or a pipe returns EINTR, so the
    // loop waiting on it sees the interrupt at once
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = fam_on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;  // the next signal takes the default action
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

void remove_interrupt_handlers() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

bool interrupted() { return g_signal != 0; }
int interrupt_signal() { return (int)g_signal; }
int interrupt_exit_code() { return g_signal ? 128 + (int)g_signal : 0; }
void clear_interrupt() { g_signal = 0; }
