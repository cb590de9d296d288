// Keeping an idle shim small. A shim spends its life idle between bursts of work
// (create, start, exec, delete); what a burst touched stays resident unless given back:
// heap kept by malloc, and pages of the binary's code mapped in by page faults (64 KiB
// at a time with the kernel's fault-around), which is most of an idle shim's RSS.
#pragma once

namespace berth::shim {

// Returns free heap to the kernel, and unmaps the process's clean file pages: code and
// constant data of the binary and its libraries (private, read-only, with no page ever
// copied on write). They stay in the page cache, shared, and fault back in when used
// again. Writable and relocated pages are left alone. Any thread.
void ReleaseIdleMemory();

}  // namespace berth::shim
