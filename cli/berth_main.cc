// main() of berth and berth-criu.
#include "cli/cli.h"

int main(int argc, char** argv) {
  return berth::cli::Main(argc, argv, berth::cli::Sealing::kSeal);
}
