#include "gateway/domain/event.hpp"

#include <gtest/gtest.h>

#include "gateway/domain/conversation.hpp"
#include "gateway/store/snapshot.hpp"

namespace gw::domain {
namespace {

event sample(event_kind k, std::uint64_t seq) {
  event e;
  e.kind = k;
  e.conv = {"clinic-1", "wa-main", "+34600111222"};
  e.seq = seq;
  e.offset = 1000 + seq;
  e.epoch = 99;
  e.at_ms = 1'700'000'000'000 + static_cast<std::int64_t>(seq);
  e.message_id = "m" + std::to_string(seq);
  e.provider_id = "wamid.X" + std::to_string(seq);
  e.text = "Hola, ¿a qué hora es mi cita?";
  return e;
}

TEST(EventCodec, RoundTripsEveryKind) {
  std::vector<event> batch;
  for (int k = 1; k <= 6; ++k) batch.push_back(sample(static_cast<event_kind>(k), k));
  batch[3].detail = std::string(300, 'd');  // multi-byte varint length
  batch[0].sent_ms = 1'699'999'990'000;
  auto bytes = encode_events(batch);
  auto back = decode_events(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, batch);
  EXPECT_EQ(decode_events(encode_events({}))->size(), 0u);
}

// The provider's send time is written only when there is one: an event
// without it is byte for byte what a gateway before it wrote and read.
TEST(EventCodec, SentTimeIsWrittenOnlyWhenKnown) {
  auto plain = sample(event_kind::message_in, 1);
  auto timed = plain;
  timed.sent_ms = 1'699'999'990'000;
  auto plain_bytes = encode_events(std::vector<event>{plain});
  auto timed_bytes = encode_events(std::vector<event>{timed});
  EXPECT_EQ(plain_bytes[1], 1);  // the kind byte alone, as before
  EXPECT_EQ(static_cast<unsigned char>(timed_bytes[1]), 0x81u);
  EXPECT_EQ(timed_bytes.substr(2, plain_bytes.size() - 2), plain_bytes.substr(2));
  auto back = decode_events(timed_bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->at(0).sent_ms, timed.sent_ms);
  EXPECT_EQ(decode_events(plain_bytes)->at(0).sent_ms, 0);
  // The flag with a zero after it was never written: refused, as is the
  // flag with nothing after it.
  auto zero = plain_bytes;
  zero[1] = static_cast<char>(0x81);
  EXPECT_FALSE(decode_events(zero + '\0'));
  EXPECT_FALSE(decode_events(zero));
}

TEST(EventCodec, RejectsEveryTruncationAndTrailingBytes) {
  auto bytes = encode_events(
      std::vector<event>{sample(event_kind::message_in, 1), sample(event_kind::note, 2)});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(decode_events(std::string_view(bytes).substr(0, cut))) << cut;
  EXPECT_FALSE(decode_events(bytes + "x"));
  auto bad_kind = bytes;
  bad_kind[1] = 9;
  EXPECT_FALSE(decode_events(bad_kind));
}

TEST(Sharding, StableAndSpread) {
  conversation_key k{"t", "c", "+1"};
  EXPECT_EQ(home_shard(k, 8), home_shard(conversation_key{"t", "c", "+1"}, 8));
  EXPECT_NE(home_shard({"ab", "c", "x"}, 1 << 20), home_shard({"a", "bc", "x"}, 1 << 20));
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 4000; ++i) ++counts[home_shard({"t", "c", "+34" + std::to_string(i)}, 4)];
  for (int c : counts) EXPECT_GT(c, 800);  // roughly even
  // Pinned value: the mapping must never change between builds.
  EXPECT_EQ(home_shard({"clinic-1", "wa-main", "+34600111222"}, 1000), 923u);
  EXPECT_EQ(home_shard({"clinic-1", "wa-main", "+34600111222"}, 7), 5u);
}

TEST(Conversation, ApplyRules) {
  conversation c;
  c.key = {"t", "c", "+1"};
  auto in = sample(event_kind::message_in, 1);
  in.author = "Ana García";
  apply(c, in);
  EXPECT_EQ(c.contact_name, "Ana García");
  EXPECT_EQ(c.seq, 1u);
  EXPECT_EQ(c.last_inbound_ms, in.at_ms);
  EXPECT_TRUE(c.window_open(in.at_ms + whatsapp_window_ms));
  EXPECT_FALSE(c.window_open(in.at_ms + whatsapp_window_ms + 1));
  EXPECT_TRUE(c.provider_ids.contains("wamid.X1"));

  event close = sample(event_kind::state_change, 2);
  close.value = "closed";
  close.author = "agent-7";
  apply(c, close);
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.status, "closed");

  apply(c, sample(event_kind::message_in, 3));  // the patient writes again
  EXPECT_FALSE(c.closed);
  EXPECT_EQ(c.status, "open");

  event assign = sample(event_kind::assignment, 4);
  assign.value = "agent-9";
  assign.detail = "front-desk";
  apply(c, assign);
  event out = sample(event_kind::message_out, 5);
  out.author = "agent-9";
  out.client_id = "cmd-1";
  apply(c, out);
  EXPECT_EQ(c.assignee, "agent-9");
  EXPECT_EQ(c.team, "front-desk");
  EXPECT_EQ(c.participants, (std::vector<std::string>{"agent-7", "agent-9"}));
  EXPECT_EQ(c.clinic->client_ids.at("cmd-1").message_id, "m5");
  EXPECT_EQ(c.messages, 3u);

  std::string snap;
  encode_conversation(snap, c);
  std::string_view in_view = snap;
  conversation back;
  ASSERT_TRUE(decode_conversation(in_view, back, store::snapshot_version));
  EXPECT_TRUE(in_view.empty());
  EXPECT_EQ(back.key, c.key);
  EXPECT_EQ(back.contact_name, "Ana García");
  EXPECT_EQ(back.participants, c.participants);
  EXPECT_EQ(back.provider_ids, c.provider_ids);
  EXPECT_EQ(back.clinic->client_ids, c.clinic->client_ids);
  EXPECT_EQ(back.last_inbound_ms, c.last_inbound_ms);
  std::string_view cut = std::string_view(snap).substr(0, snap.size() - 1);
  conversation partial;
  EXPECT_FALSE(decode_conversation(cut, partial, store::snapshot_version));
}

// WhatsApp's window runs from when the patient sent the message, by Meta's
// clock: a message that arrives late (Meta retrying through an outage)
// opens a window that ends as early as Meta's. Never from later than its
// arrival, and never back to an earlier start.
TEST(Conversation, TheWindowRunsFromWhenThePatientSent) {
  conversation c;
  auto late = sample(event_kind::message_in, 1);
  late.sent_ms = late.at_ms - 3 * 3600 * 1000;  // delivered three hours late
  apply(c, late);
  EXPECT_EQ(c.last_inbound_ms, late.sent_ms);
  EXPECT_TRUE(c.window_open(late.sent_ms + whatsapp_window_ms));
  EXPECT_FALSE(c.window_open(late.sent_ms + whatsapp_window_ms + 1));
  EXPECT_EQ(c.last_message_ms, late.at_ms);  // the inbox still orders by arrival

  auto older = sample(event_kind::message_in, 2);  // an even older one, later still
  older.sent_ms = late.sent_ms - 1000;
  older.at_ms = late.at_ms + 1000;
  apply(c, older);
  EXPECT_EQ(c.last_inbound_ms, late.sent_ms);

  auto ahead = sample(event_kind::message_in, 3);  // the provider's clock ahead of ours
  ahead.at_ms = late.at_ms + 5000;
  ahead.sent_ms = ahead.at_ms + 60'000;
  apply(c, ahead);
  EXPECT_EQ(c.last_inbound_ms, ahead.at_ms);

  auto untimed = sample(event_kind::message_in, 4);  // Twilio: no send time
  untimed.at_ms = ahead.at_ms + 1;
  apply(c, untimed);
  EXPECT_EQ(c.last_inbound_ms, untimed.at_ms);
}

TEST(Conversation, DeliveryStatusesOnlyMoveForward) {
  conversation c;
  auto status = [&](std::string value, std::string detail = {}, std::string message_id = {}) {
    event e = sample(event_kind::message_status, c.seq + 1);
    e.provider_id = "wamid.OUT";
    e.message_id = std::move(message_id);
    e.value = std::move(value);
    e.detail = std::move(detail);
    apply(c, e);
    return c.clinic->deliveries.at("wamid.OUT");
  };
  // A status before the message itself: kept, waiting for it.
  EXPECT_EQ(status("delivered").status, "delivered");
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT").message_id, "");
  EXPECT_EQ(status("sent").status, "delivered");  // late: not a downgrade
  EXPECT_EQ(status("read").status, "read");
  EXPECT_EQ(status("delivered").status, "read");
  EXPECT_EQ(status("failed", "131026: undeliverable").status, "read");  // read came first

  // The message appears (the provider accepted it): linked, state kept.
  event out = sample(event_kind::message_out, c.seq + 1);
  out.provider_id = "wamid.OUT";
  apply(c, out);
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT").message_id, out.message_id);
  EXPECT_EQ(c.clinic->deliveries.at("wamid.OUT").status, "read");
  ASSERT_EQ(c.history.size(), 1u);               // statuses are not messages
  EXPECT_EQ(c.history.back().status(), "read");  // the kept message shows it too

  // failed keeps its code and reason whatever comes late.
  conversation f;
  event e = sample(event_kind::message_status, 1);
  e.provider_id = "SM1";
  e.value = "failed";
  e.detail = "30003: Unreachable destination handset";
  apply(f, e);
  for (std::string late : {"sent", "delivered", "read", "queued"}) {
    e.value = late;
    e.detail.clear();
    ++e.seq;
    apply(f, e);
  }
  EXPECT_EQ(f.clinic->deliveries.at("SM1").status, "failed");
  EXPECT_EQ(f.clinic->deliveries.at("SM1").detail, "30003: Unreachable destination handset");

  EXPECT_EQ(status_rank("queued"), 0);
  EXPECT_LT(status_rank("sent"), status_rank("delivered"));
  EXPECT_LT(status_rank("delivered"), status_rank("read"));
  EXPECT_EQ(status_rank("read"), status_rank("failed"));

  std::string snap;
  encode_conversation(snap, c);
  std::string_view view = snap;
  conversation back;
  ASSERT_TRUE(decode_conversation(view, back, store::snapshot_version));
  ASSERT_EQ(back.clinic->deliveries.size(), 1u);
  EXPECT_EQ(back.clinic->deliveries.at("wamid.OUT").status, "read");
  EXPECT_EQ(back.clinic->deliveries.at("wamid.OUT").message_id, out.message_id);
  EXPECT_EQ(back.clinic->deliveries.at("wamid.OUT").at_ms,
            c.clinic->deliveries.at("wamid.OUT").at_ms);
}

// The outbound queue finds unsent replies in the kept history after a
// restart: they are never the ones pushed out, whatever the limit.
TEST(Conversation, QueuedRepliesStayInTheHistoryUntilTheyLeaveTheQueue) {
  for (std::size_t limit : {0u, 2u}) {
    conversation c;
    c.key = {"t", "wa", "+1"};
    std::uint64_t seq = 0;
    auto reply = sample(event_kind::message_out, ++seq);
    reply.message_id = "m-queued";
    reply.provider_id.clear();
    apply(c, reply, limit);
    for (int i = 0; i < 5; ++i) apply(c, sample(event_kind::message_in, ++seq), limit);
    // The limit holds, but the reply is never the entry that goes.
    ASSERT_EQ(c.history.size(), std::max<std::size_t>(limit, 1)) << limit;
    EXPECT_EQ(c.history.front().id(), "m-queued");
    EXPECT_EQ(c.history.front().status(), "queued");
    if (limit > 0) {
      EXPECT_EQ(c.history.back().seq(), seq);
    }

    auto sent = sample(event_kind::message_status, ++seq);
    sent.provider_id = "wamid.X";
    sent.message_id = "m-queued";
    sent.value = "sent";
    apply(c, sent, limit);
    EXPECT_EQ(c.history.size(), limit) << limit;
    if (limit > 0) {
      EXPECT_EQ(c.history.front().status(), "sent");  // an ordinary entry now, the oldest...
    }
    apply(c, sample(event_kind::message_in, ++seq), limit);
    for (const auto& m : c.history) EXPECT_NE(m.id(), "m-queued");  // ...so the next to go
  }
}

TEST(Conversation, KeepsHistoryUnreadAndLastMessage) {
  conversation c;
  c.key = {"t", "wa", "+1"};
  std::uint64_t seq = 0;
  auto next = [&](event_kind k) {
    event e = sample(k, ++seq);
    e.at_ms = 1'000 * static_cast<std::int64_t>(seq);
    return e;
  };
  const std::size_t limit = 4;
  apply(c, next(event_kind::message_in), limit);  // 1
  apply(c, next(event_kind::message_in), limit);  // 2
  EXPECT_EQ(c.unread, 2u);
  auto out = next(event_kind::message_out);  // 3
  out.provider_id = "wamid.OUT";
  out.author = "ana";
  apply(c, out, limit);
  EXPECT_EQ(c.last_message_ms, 3'000);
  EXPECT_EQ(c.last_inbound_ms, 2'000);
  EXPECT_EQ(c.history.back().status(), "queued");

  auto failed = next(event_kind::message_status);  // 4
  failed.provider_id = "wamid.OUT";
  failed.message_id.clear();  // a provider's status names only its own id
  failed.value = "failed";
  failed.detail = "131047: Re-engagement message: more than 24 hours";
  apply(c, failed, limit);
  EXPECT_EQ(c.history.back().status(), "failed");
  EXPECT_EQ(c.history.back().error(), failed.detail);

  auto note = next(event_kind::note);  // 5: kept, but not a message either way
  apply(c, note, limit);
  EXPECT_EQ(c.last_message_ms, 3'000);
  EXPECT_EQ(c.history.back().kind(), event_kind::note);

  auto read = next(event_kind::read);  // 6: read up to the first message
  read.value = "1";
  apply(c, read, limit);
  EXPECT_EQ(c.unread, 1u);
  EXPECT_EQ(c.read_seq, 1u);
  read = next(event_kind::read);  // 7: a lower mark changes nothing
  read.value = "0";
  apply(c, read, limit);
  EXPECT_EQ(c.read_seq, 1u);
  EXPECT_EQ(c.unread, 1u);

  apply(c, next(event_kind::message_in), limit);  // 8: the oldest kept goes
  ASSERT_EQ(c.history.size(), limit);
  EXPECT_EQ(c.history.front().seq(), 2u);
  EXPECT_EQ(c.history.back().seq(), 8u);
  EXPECT_EQ(c.unread, 2u);
  read = next(event_kind::read);  // 9
  read.value = "8";
  apply(c, read, limit);
  EXPECT_EQ(c.unread, 0u);

  std::string snap;
  encode_conversation(snap, c);
  std::string_view bytes = snap;
  conversation back;
  ASSERT_TRUE(decode_conversation(bytes, back, store::snapshot_version));
  EXPECT_TRUE(bytes.empty());
  ASSERT_EQ(back.history.size(), c.history.size());
  for (std::size_t i = 0; i < c.history.size(); ++i) {
    EXPECT_EQ(back.history[i].seq(), c.history[i].seq());
    EXPECT_EQ(back.history[i].kind(), c.history[i].kind());
    EXPECT_EQ(back.history[i].text(), c.history[i].text());
    EXPECT_EQ(back.history[i].status(), c.history[i].status());
    EXPECT_EQ(back.history[i].error(), c.history[i].error());
  }
  EXPECT_EQ(back.read_seq, 8u);
  EXPECT_EQ(back.last_message_ms, c.last_message_ms);
  EXPECT_EQ(back.last_inbound_seq, 8u);

  // A snapshot of version 2 ends where version 3 adds its fields (here
  // without ids: version 4 changed their lists' layout).
  conversation no_ids = c;
  no_ids.provider_ids.clear();
  no_ids.clinic.reset();
  std::string snap2;
  encode_conversation(snap2, no_ids);
  conversation old;
  std::string_view v2 = snap2;
  ASSERT_TRUE(decode_conversation(v2, old, 2));
  EXPECT_FALSE(v2.empty());
  EXPECT_TRUE(old.history.empty());
  EXPECT_EQ(old.last_message_ms, old.last_inbound_ms);
}

}  // namespace
}  // namespace gw::domain
