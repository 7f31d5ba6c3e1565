// A throwaway directory under $TMPDIR (or /tmp), removed with its contents on destruction.
#pragma once

#include <string>
#include <string_view>

namespace presence::test {

class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "presence-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // path()/name
    std::string file(std::string_view name) const;
    // Writes `content` to path()/name and returns the full path ("" on failure).
    std::string write(std::string_view name, std::string_view content) const;

  private:
    std::string path_;
};

// Whole file as a string ("" when missing).
std::string read_file(const std::string& path);

}  // namespace presence::test
