// How a conversation keeps its state compact: the kept history's container
// and packed entries, id tables that start small, and the clinic side
// allocated with its first id.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/domain/conversation.hpp"
#include "gateway/domain/history_buffer.hpp"
#include "gateway/domain/wire.hpp"
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

// Most conversations hold a few ids per set: the clinic-side sets start with
// two buckets, not the 13 (104 bytes) a standard library table takes at its
// first insert, the inbound ids (an id_table) with four 8-byte slots, and
// all still grow as hash tables should.
TEST(Conversation, IdSetsStartSmallAndGrow) {
  auto c = fresh();
  apply(c, inbound(1, "wamid.IN1"));
  const auto out = reply(2, "m-2", "c-2", "wamid.OUT2");
  apply(c, out);
  EXPECT_LE(c.provider_ids.slot_count(), 4u);
  EXPECT_LE(c.clinic->client_ids.bucket_count(), 2u);
  EXPECT_LE(c.clinic->deliveries.bucket_count(), 2u);

  for (std::uint64_t seq = 3; seq < 1003; ++seq)
    apply(c, inbound(seq, "wamid.IN" + std::to_string(seq)));
  EXPECT_EQ(c.provider_ids.size(), 1001u);
  EXPECT_TRUE(c.provider_ids.contains("wamid.IN1"));  // nothing lost as it grew
  EXPECT_TRUE(c.provider_ids.contains("wamid.IN1002"));

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
  EXPECT_EQ(c.clinic->client_ids.at("c-2").message_id, "m-2");

  conversation copy = c;
  copy.clinic.get().client_ids.clear();
  EXPECT_EQ(c.clinic->client_ids.size(), 1u);  // deep: the original is untouched
  EXPECT_TRUE(copy.clinic->client_ids.empty());
}

event at(event e, std::int64_t at_ms) {
  e.at_ms = at_ms;
  return e;
}
event status(std::uint64_t seq, std::string provider_id, std::string value) {
  event e;
  e.kind = event_kind::message_status;
  e.seq = seq;
  e.provider_id = std::move(provider_id);
  e.value = std::move(value);
  return e;
}

// The first event of a day forgets what nothing touched in the retention
// before it: ids and deliveries; a delivery a status touched lately stays,
// and so does the clinic side while it holds anything.
TEST(Conversation, ForgetsIdsNothingTouchedWithinTheRetention) {
  const std::int64_t kept = 30 * day_ms, t0 = 20'000 * day_ms + 2 * 3600'000;
  auto c = fresh();
  auto step = [&](event e, std::int64_t t) { apply(c, at(std::move(e), t), 200, kept); };
  step(inbound(1, "wamid.OLD"), t0);
  step(reply(2, "m-2", "c-2", "wamid.OUT2"), t0);
  step(status(3, "wamid.OUT2", "sent"), t0);
  step(status(4, "wamid.ORPHAN", "read"), t0);  // a status for a message never seen
  step(inbound(5, "wamid.MID"), t0 + 20 * day_ms);
  step(status(6, "wamid.OUT2", "delivered"), t0 + 25 * day_ms);
  step(inbound(7, "wamid.NEW"), t0 + 31 * day_ms);

  EXPECT_FALSE(c.provider_ids.contains("wamid.OLD"));
  EXPECT_TRUE(c.provider_ids.contains("wamid.MID"));
  EXPECT_TRUE(c.provider_ids.contains("wamid.NEW"));
  EXPECT_FALSE(c.clinic->client_ids.contains("c-2"));
  EXPECT_FALSE(c.clinic->deliveries.contains("wamid.ORPHAN"));
  ASSERT_TRUE(c.clinic->deliveries.contains("wamid.OUT2"));  // touched on day 25
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT2").status, "delivered");
  EXPECT_EQ(c.history.size(), 4u);  // the kept history is not the ids' business

  // Once a day: what ages past the retention later that day stays until the
  // first event of the next.
  const std::int64_t mid_age_out = t0 + 50 * day_ms;  // MID seen on day 20
  step(inbound(8, "wamid.A"), mid_age_out - 3600'000);
  EXPECT_TRUE(c.provider_ids.contains("wamid.MID"));
  std::int64_t later = mid_age_out + 3600'000;
  ASSERT_EQ(later / day_ms, (mid_age_out - 3600'000) / day_ms);  // the same day
  step(inbound(9, "wamid.B"), later);
  EXPECT_TRUE(c.provider_ids.contains("wamid.MID"));
  step(inbound(10, "wamid.C"), (later / day_ms + 1) * day_ms);
  EXPECT_FALSE(c.provider_ids.contains("wamid.MID"));

  // Nothing on the clinic side touched within the retention: it is released.
  step(inbound(11, "wamid.D"), t0 + 60 * day_ms);
  EXPECT_FALSE(c.clinic.allocated());

  // Retention 0: nothing is ever forgotten.
  auto forever = fresh();
  apply(forever, at(inbound(1, "wamid.X"), t0), 200, 0);
  apply(forever, at(inbound(2, "wamid.Y"), t0 + 3650 * day_ms), 200, 0);
  EXPECT_TRUE(forever.provider_ids.contains("wamid.X"));
}

// A snapshot keeps each id's time and the last sweep's day: a restarted
// gateway forgets exactly what the one that kept running does.
TEST(Conversation, ASnapshotForgetsLikeTheLiveState) {
  const std::int64_t kept = 30 * day_ms, t0 = 20'000 * day_ms;
  auto live = fresh();
  apply(live, at(inbound(1, "wamid.A"), t0), 200, kept);
  apply(live, at(reply(2, "m-2", "c-2", "wamid.OUT2"), t0 + 10 * day_ms), 200, kept);
  apply(live, at(inbound(3, "wamid.B"), t0 + 20 * day_ms), 200, kept);
  conversation restarted;
  ASSERT_TRUE(round_trip(snapshot_of(live), restarted));
  EXPECT_EQ(restarted.provider_ids, live.provider_ids);
  EXPECT_EQ(restarted.clinic->client_ids, live.clinic->client_ids);
  EXPECT_EQ(restarted.ids_swept_day, live.ids_swept_day);
  for (auto* c : {&live, &restarted}) {
    apply(*c, at(inbound(4, "wamid.C"), t0 + 35 * day_ms), 200, kept);
    EXPECT_FALSE(c->provider_ids.contains("wamid.A"));
    EXPECT_TRUE(c->provider_ids.contains("wamid.B"));
    EXPECT_TRUE(c->clinic->client_ids.contains("c-2"));
  }
  EXPECT_EQ(restarted.provider_ids, live.provider_ids);
}

// Version 3 snapshots carry no times: their ids count as seen with the
// conversation's last message, so none is forgotten earlier than it
// could have been touched.
TEST(Conversation, AVersion3SnapshotsIdsDateFromItsLastMessage) {
  using namespace wire;
  const std::int64_t last = 20'000 * day_ms;
  std::string v3;
  for (auto s : {"t", "wa", "+1", "Ana"}) put_str(v3, s);
  put_varint(v3, 9);  // seq
  put_varint(v3, 0);  // closed
  put_str(v3, "open");
  put_varint(v3, static_cast<std::uint64_t>(last - 5 * day_ms));  // last_inbound_ms
  put_str(v3, "");
  put_str(v3, "");
  put_varint(v3, 2);  // messages
  put_varint(v3, 0);  // participants
  put_varint(v3, 1);
  put_str(v3, "wamid.IN");
  put_varint(v3, 1);
  put_str(v3, "c-1");
  put_str(v3, "m-1");
  put_varint(v3, 1);
  for (auto s : {"wamid.OUT", "m-1", "sent", ""}) put_str(v3, s);
  put_varint(v3, static_cast<std::uint64_t>(last - day_ms));  // the status's at_ms
  put_varint(v3, static_cast<std::uint64_t>(last));           // last_message_ms
  for (int i = 0; i < 4; ++i) put_varint(v3, 0);  // last_inbound_seq, read_seq, unread, history

  std::string_view bytes = v3;
  conversation c;
  ASSERT_TRUE(decode_conversation(bytes, c, 3));
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(c.provider_ids.at("wamid.IN"), last);
  EXPECT_EQ(c.clinic->client_ids.at("c-1").seen_ms, last);
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT").seen_ms, last);
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT").at_ms, last - day_ms);
  EXPECT_EQ(c.ids_swept_day, 0u);
}

}  // namespace
}  // namespace gw::domain
