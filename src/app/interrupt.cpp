// interrupt.cpp: see interrupt.h.
#include "app/interrupt.h"

#include <csignal>

// Written by the handler, read by the program: a lock-free atomic int is
// async-signal-safe, as sig_atomic_t is.
static volatile std::sig_atomic_t g_signal = 0;

extern "C" void fam_on_interrupt(int sig) {
    g_signal = sig;
    // the next signal takes the default action: a second Ctrl-C stops a stuck save
    std::signal(sig, SIG_DFL);
}

void install_interrupt_handlers() {
    std::signal(SIGINT, fam_on_interrupt);
    std::signal(SIGTERM, fam_on_interrupt);
}

void remove_interrupt_handlers() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

bool interrupted() { return g_signal != 0; }
int interrupt_signal() { return (int)g_signal; }
int interrupt_exit_code() { return g_signal ? 128 + (int)g_signal : 0; }
void clear_interrupt() { g_signal = 0; }
