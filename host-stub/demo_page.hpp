// `--demo`: six demo users with friendships among them, and a live page at GET / to play
// with them from a browser (self-contained HTML, inline JS, no external assets).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace presence_host {

// alice, bob, carol, dave, erin, frank.
const std::vector<std::string>& demo_users();
// Friendships among them (each pair once; both directions implied).
const std::vector<std::pair<std::string, std::string>>& demo_friendships();

// A temp directory holding friends.txt in the presence.friends_file format; removed when
// this object goes away.
class DemoFriendsFile {
  public:
    DemoFriendsFile() = default;
    DemoFriendsFile(const DemoFriendsFile&) = delete;
    DemoFriendsFile& operator=(const DemoFriendsFile&) = delete;
    ~DemoFriendsFile();
    bool write(std::string& error);
    const std::string& path() const { return path_; }

  private:
    std::string dir_;
    std::string path_;
};

const std::string& demo_page_html();

}  // namespace presence_host
