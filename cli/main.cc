// shorty: the command-line client of shortyd.
#include "cli/commands.h"

int main(int argc, char** argv) { return shorty::RunShorty(argc, argv); }
