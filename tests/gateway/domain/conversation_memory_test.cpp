// How a conversation keeps its state compact: the kept history's container
// and packed entries, id tables that start small, and the clinic side
// allocated with its first id.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/domain/conversation.hpp"
#include "gateway/domain/history_buffer.hpp"
#include "gateway/store/snapshot.hpp"

namespace gw::domain {
namespace {

std::vector<int> contents(const history_buffer<int>& h) { return {h.begin(), h.end()}; }

event inbound(std::uint64_t seq, std::string provider_id) {
  event e;
  e.kind = event_kind::message_in;
  e.seq = seq;
  e.provider_id = std::move(provider_id);
  return e;
}

event reply(std::uint64_t seq, std::string message_id, std::string client_id,
            std::string provider_id = {}) {
  event e;
  e.kind = event_kind::message_out;
  e.seq = seq;
  e.message_id = std::move(message_id);
  e.client_id = std::move(client_id);
  e.provider_id = std::move(provider_id);
  return e;
}

conversation fresh() {
  conversation c;
  c.key = {"t", "wa", "+1"};
  return c;
}

// Through a snapshot and back; false when the snapshot is refused.
bool round_trip(const std::string& snap, conversation& back) {
  std::string_view bytes = snap;
  return decode_conversation(bytes, back, store::snapshot_version);
}
std::string snapshot_of(const conversation& c) {
  std::string snap;
  encode_conversation(snap, c);
  return snap;
}

TEST(HistoryBuffer, KeepsOrderThroughDropsFromTheFrontAndTheMiddle) {
  history_buffer<int> h;
  EXPECT_TRUE(h.empty());
  for (int i = 0; i < 6; ++i) h.emplace_back(i);
  h.pop_front();                     // 1 2 3 4 5
  auto it = h.erase(h.begin() + 2);  // 1 2 4 5
  EXPECT_EQ(*it, 4);
  it = h.erase(h.begin());  // the oldest: 2 4 5
  EXPECT_EQ(*it, 2);
  EXPECT_EQ(contents(h), (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(h.front(), 2);
  EXPECT_EQ(h.back(), 5);
  EXPECT_EQ(h[1], 4);
  EXPECT_EQ(std::vector<int>(h.rbegin(), h.rend()), (std::vector<int>{5, 4, 2}));
  h.pop_front();
  h.pop_front();
  h.pop_front();
  EXPECT_TRUE(h.empty());
  h.emplace_back(9);
  EXPECT_EQ(contents(h), (std::vector<int>{9}));
}

// An entry in, the oldest out, many times over: the order stays, and the
// storage stops growing (the gap left by the drops is reused) at the power of
// two above the largest size.
TEST(HistoryBuffer, SteadyStateReusesItsStorage) {
  history_buffer<int> h;
  const int limit = 200;
  for (int i = 0; i < 20'000; ++i) {
    h.emplace_back(i);
    if (h.size() > limit) h.pop_front();
    ASSERT_EQ(h.front(), std::max(0, i - limit + 1));
    ASSERT_EQ(h.back(), i);
    ASSERT_LE(h.capacity(), 256u) << i;
  }
  EXPECT_EQ(h.size(), static_cast<std::size_t>(limit));
  h.shrink_to_fit();
  EXPECT_EQ(h.capacity(), static_cast<std::size_t>(limit));
  EXPECT_EQ(h.front(), 20'000 - limit);
}

// A dropped entry's resources go when it is dropped, not at the next
// compaction (a kept message's text is most of its memory).
TEST(HistoryBuffer, ADroppedEntryIsReleasedAtOnce) {
  auto held = std::make_shared<int>(7);
  history_buffer<std::shared_ptr<int>> h;
  h.emplace_back(held);
  h.emplace_back(std::make_shared<int>(8));
  EXPECT_EQ(held.use_count(), 2);
  h.pop_front();
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_EQ(*h.front(), 8);
}

TEST(KeptMessage, PacksItsFieldsAndFollowsItsStatus) {
  kept_message m(event_kind::message_out, 7, 1'700'000'000'000,
                 {"m-7", "template", "¿Confirma?", "ana", R"({"name":"cita"})"});
  EXPECT_EQ(m.kind(), event_kind::message_out);
  EXPECT_EQ(m.seq(), 7u);
  EXPECT_EQ(m.at_ms(), 1'700'000'000'000);
  EXPECT_EQ(m.id(), "m-7");
  EXPECT_EQ(m.type(), "template");
  EXPECT_EQ(m.text(), "¿Confirma?");
  EXPECT_EQ(m.author(), "ana");
  EXPECT_EQ(m.extra(), R"({"name":"cita"})");
  EXPECT_EQ(m.status(), "");
  EXPECT_EQ(m.error(), "");

  EXPECT_TRUE(m.set_status("queued", "ignored: not failed"));
  EXPECT_EQ(m.status(), "queued");
  EXPECT_EQ(m.error(), "");
  EXPECT_TRUE(m.set_status("failed", "131047: Re-engagement message: window closed"));
  EXPECT_EQ(m.error(), "131047: Re-engagement message: window closed");
  EXPECT_EQ(m.extra(), R"({"name":"cita"})");  // the other fields are untouched
  EXPECT_EQ(m.author(), "ana");
  // Not a status a kept message has: refused, nothing changes.
  EXPECT_FALSE(m.set_status("undelivered", "x"));
  EXPECT_EQ(m.status(), "failed");
  EXPECT_EQ(m.error(), "131047: Re-engagement message: window closed");
  EXPECT_TRUE(m.set_status("read", "ignored"));
  EXPECT_EQ(m.error(), "");

  kept_message empty(event_kind::note, 1, 0, {});
  EXPECT_EQ(empty.id(), "");
  EXPECT_EQ(empty.text(), "");
  EXPECT_EQ(empty.error(), "");
}

// A snapshot whose kept message carries a status no message can have is
// refused as corrupt rather than read into a state apply() never makes.
TEST(KeptMessage, ASnapshotWithAnUnknownStatusIsRefused) {
  auto c = fresh();
  apply(c, reply(1, "m-1", ""));
  auto snap = snapshot_of(c);
  auto at = snap.find("queued");
  ASSERT_NE(at, std::string::npos);
  conversation back;
  EXPECT_TRUE(round_trip(snap, back));
  snap.replace(at, 6, "queuex");
  conversation bad;
  EXPECT_FALSE(round_trip(snap, bad));
}

// Most conversations hold a few ids per set: each set starts with two
// buckets, not the 13 (104 bytes) a standard library table takes at its
// first insert, and still grows as a hash table should.
TEST(Conversation, IdSetsStartSmallAndGrow) {
  auto c = fresh();
  apply(c, inbound(1, "wamid.IN1"));
  const auto out = reply(2, "m-2", "c-2", "wamid.OUT2");
  apply(c, out);
  EXPECT_LE(c.provider_ids.bucket_count(), 2u);
  EXPECT_LE(c.clinic->client_ids.bucket_count(), 2u);
  EXPECT_LE(c.clinic->deliveries.bucket_count(), 2u);

  for (std::uint64_t seq = 3; seq < 1003; ++seq)
    apply(c, inbound(seq, "wamid.IN" + std::to_string(seq)));
  EXPECT_EQ(c.provider_ids.size(), 1001u);
  EXPECT_LE(c.provider_ids.load_factor(), c.provider_ids.max_load_factor());

  // A snapshot's sets start small too.
  auto one = fresh();
  apply(one, out);
  conversation back;
  ASSERT_TRUE(round_trip(snapshot_of(one), back));
  EXPECT_EQ(back.clinic->deliveries.count("wamid.OUT2"), 1u);
  EXPECT_LE(back.clinic->client_ids.bucket_count(), 2u);
  EXPECT_LE(back.clinic->deliveries.bucket_count(), 2u);
}

// A conversation nobody has answered holds no clinic-side tables; the
// first reply allocates them, and a copy of the conversation owns its own.
TEST(Conversation, TheClinicSideIsAllocatedWithTheFirstReply) {
  auto c = fresh();
  apply(c, inbound(1, "wamid.IN1"));
  EXPECT_FALSE(c.clinic.allocated());
  EXPECT_TRUE(c.clinic->deliveries.empty());  // reads see empty tables
  conversation back;
  ASSERT_TRUE(round_trip(snapshot_of(c), back));
  EXPECT_FALSE(back.clinic.allocated());

  apply(c, reply(2, "m-2", "c-2"));
  ASSERT_TRUE(c.clinic.allocated());
  EXPECT_EQ(c.clinic->client_ids.at("c-2"), "m-2");

  conversation copy = c;
  copy.clinic.get().client_ids.clear();
  EXPECT_EQ(c.clinic->client_ids.size(), 1u);  // deep: the original is untouched
  EXPECT_TRUE(copy.clinic->client_ids.empty());
}

}  // namespace
}  // namespace gw::domain
