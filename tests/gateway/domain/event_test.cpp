#include "gateway/domain/event.hpp"

#include <gtest/gtest.h>

#include "gateway/domain/conversation.hpp"

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
  auto bytes = encode_events(batch);
  auto back = decode_events(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, batch);
  EXPECT_EQ(decode_events(encode_events({}))->size(), 0u);
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
  EXPECT_EQ(c.client_ids.at("cmd-1"), "m5");
  EXPECT_EQ(c.messages, 3u);

  std::string snap;
  encode_conversation(snap, c);
  std::string_view in_view = snap;
  conversation back;
  ASSERT_TRUE(decode_conversation(in_view, back));
  EXPECT_TRUE(in_view.empty());
  EXPECT_EQ(back.key, c.key);
  EXPECT_EQ(back.contact_name, "Ana García");
  EXPECT_EQ(back.participants, c.participants);
  EXPECT_EQ(back.provider_ids, c.provider_ids);
  EXPECT_EQ(back.client_ids, c.client_ids);
  EXPECT_EQ(back.last_inbound_ms, c.last_inbound_ms);
  std::string_view cut = std::string_view(snap).substr(0, snap.size() - 1);
  conversation partial;
  EXPECT_FALSE(decode_conversation(cut, partial));
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
    return c.deliveries.at("wamid.OUT");
  };
  // A status before the message itself: kept, waiting for it.
  EXPECT_EQ(status("delivered").status, "delivered");
  EXPECT_EQ(c.deliveries.at("wamid.OUT").message_id, "");
  EXPECT_EQ(status("sent").status, "delivered");  // late: not a downgrade
  EXPECT_EQ(status("read").status, "read");
  EXPECT_EQ(status("delivered").status, "read");
  EXPECT_EQ(status("failed", "131026: undeliverable").status, "read");  // read came first

  // The message appears (the provider accepted it): linked, state kept.
  event out = sample(event_kind::message_out, c.seq + 1);
  out.provider_id = "wamid.OUT";
  apply(c, out);
  EXPECT_EQ(c.deliveries.at("wamid.OUT").message_id, out.message_id);
  EXPECT_EQ(c.deliveries.at("wamid.OUT").status, "read");

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
  EXPECT_EQ(f.deliveries.at("SM1").status, "failed");
  EXPECT_EQ(f.deliveries.at("SM1").detail, "30003: Unreachable destination handset");

  EXPECT_EQ(status_rank("queued"), 0);
  EXPECT_LT(status_rank("sent"), status_rank("delivered"));
  EXPECT_LT(status_rank("delivered"), status_rank("read"));
  EXPECT_EQ(status_rank("read"), status_rank("failed"));

  std::string snap;
  encode_conversation(snap, c);
  std::string_view view = snap;
  conversation back;
  ASSERT_TRUE(decode_conversation(view, back));
  ASSERT_EQ(back.deliveries.size(), 1u);
  EXPECT_EQ(back.deliveries.at("wamid.OUT").status, "read");
  EXPECT_EQ(back.deliveries.at("wamid.OUT").message_id, out.message_id);
  EXPECT_EQ(back.deliveries.at("wamid.OUT").at_ms, c.deliveries.at("wamid.OUT").at_ms);
}

}  // namespace
}  // namespace gw::domain
