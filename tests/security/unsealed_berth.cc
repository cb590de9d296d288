// A berth that does not seal itself, for the CVE-2019-5736 control test only: the
// attack must succeed on it, which shows the test can see the defence fail. Built
// in the test tree, never installed; berth itself has no switch to turn sealing off.
#include "cli/cli.h"

int main(int argc, char** argv) {
  return berth::cli::Main(argc, argv, berth::cli::Sealing::kDoNotSeal);
}
