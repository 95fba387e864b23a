"""Every message gifts shows a person: the services' refusals, the pages' and the API's
answers. The error classes themselves are wallet's (`wallet.errors`)."""

from __future__ import annotations

from gifts.models import MAX_COMBO, MAX_GOAL_COUNT

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
