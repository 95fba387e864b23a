"""Every message gifts shows a person: the services' refusals, the pages' and the API's
answers. The error classes themselves are wallet's (`wallet.errors`)."""

from __future__ import annotations

from gifts.models import CHAT_MAX_LENGTH, MAX_COMBO, MAX_GOAL_COUNT

# ---------------------------------------------------------------- sending gifts

CHOOSE_GIFT = "Choose a gift."
GIFT_UNAVAILABLE = "That gift is not available."
COUNT_REQUIRED = "Enter a combo count."
COUNT_INVALID = f"The combo count must be a whole number from 1 to {MAX_COMBO:,}."
ONE_TARGET = "A gift goes to exactly one live session or post."
SESSION_ENDED = "This live session has ended, so it can't receive gifts."
POST_UNAVAILABLE = "This post can't receive gifts."
CREATOR_CANNOT_RECEIVE = "This creator can't receive gifts right now."
NO_SELF_GIFTS = "You can't send gifts to yourself."
NOT_ENOUGH_COINS = "You don't have enough coins for this gift. Get more coins to continue."
NO_SUCH_SESSION = "No such live session."
NO_SUCH_POST = "No such post."
GIFT_SENT = "You sent {gift} ×{count} ({coins:,} coins)."

# ---------------------------------------------------------------- live sessions

NOT_A_CREATOR = "Only approved creators can go live."
ALREADY_LIVE = "You are already live: end that session before starting another."
TITLE_INVALID = "A title of 1 to 120 characters is required."
GOAL_INCOMPLETE = "A goal needs both a gift and a count."
GOAL_COUNT_INVALID = f"The goal count must be a whole number from 1 to {MAX_GOAL_COUNT:,}."
NOT_YOUR_SESSION = "Only the creator can end this live session."
SESSION_NOT_FOUND = "That live session doesn't exist."
LIVE_STARTED = "You are live."
LIVE_ENDED = "Your live session has ended."

# ---------------------------------------------------------------- live video

STREAM_KEY_REFUSED = "This stream key is not valid, or its creator can't stream now."
NOT_THE_MEDIA_SERVER = "Not the media server."
UNKNOWN_RTMP_APPLICATION = "Unknown application."
VIDEO_NOT_AVAILABLE = "Live video is not available on this server."
VIDEO_ENDED = "This live session has ended."
VIDEO_OFFLINE = "{name} is live, but the video hasn't started yet. It plays here as soon as they stream."

# ---------------------------------------------------------------- the live room: chat and moderation

SIGN_IN_TO_CHAT = "Sign in to chat."
CHAT_SESSION_ENDED = "This live session has ended, so its chat is closed."
CHAT_EMPTY = "Type a message first."
CHAT_TOO_LONG = f"A message can be at most {CHAT_MAX_LENGTH} characters."
CHAT_NO_LINKS = "Links aren't allowed in this chat."
CHAT_BLOCKED_WORD = "Your message contains a word the creator has blocked."
CHAT_RATE_LIMITED = "You're sending messages too fast. Wait a few seconds."
CHAT_SLOW_MODE = "Slow mode is on: you can send one message every {seconds} seconds. Try again in {wait} s."
CHAT_TIMED_OUT = "You are timed out of this chat until {until} UTC."
CHAT_BANNED = "You are banned from this creator's chat."
NOT_A_MODERATOR = "Only the creator and their moderators can do that."
ONLY_THE_CREATOR = "Only the creator can do that."
CANNOT_MODERATE_USER = "The creator and moderators can't be timed out or banned."
MESSAGE_NOT_FOUND = "That message doesn't exist or was deleted."
TIMEOUT_MINUTES_INVALID = "A timeout lasts from 1 to 10,080 minutes (a week)."
SLOW_MODE_INVALID = "Slow mode is a whole number of seconds from 0 to 3,600."
ALREADY_MODERATOR = "{name} is already a moderator."
UNKNOWN_ROOM_ACTION = "Unknown action."
