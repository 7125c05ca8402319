// A C++ program using std containers: vectors growing, maps and strings built and torn down.
#include <cstdio>
#include <map>
#include <string>
#include <vector>
#include <cstdlib>

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  unsigned long total = 0;
  for (int r = 0; r < rounds; r++) {
    std::map<int, std::string> m;
    std::vector<std::vector<int>> vs;
    for (int i = 0; i < 2000; i++) {
      m[i * 7 + r] = std::string("value number ") + std::to_string(i);
      vs.emplace_back(i % 50, i);
    }
    for (auto &kv : m) total += kv.second.size();
    for (auto &v : vs) total += v.size();
  }
  std::printf("containers: %d rounds, %lu\n", rounds, total);
  return 0;
}
