"""The one valid account per platform, with fixed and obviously fake values.

The values have the shape of real credentials (a connector's format checks
must accept them) but every one says "sandbox", so nobody mistakes them for
something that works anywhere else. They are not secrets; `SandboxServer.env()`
hands them out.
"""

from __future__ import annotations

# GitHub: a classic personal access token is "ghp_" followed by 36 characters.
GITHUB_TOKEN = "ghp_sandboxFakeToken0123456789ABCDEFGHIJ"
GITHUB_LOGIN = "sandbox-bot"
GITHUB_USER_ID = 1000001
GITHUB_OWNER = "sandbox-org"
GITHUB_REPO = "sandbox-project"
GITHUB_SCOPES = "public_repo, read:org, repo"
# Categories of the sandbox repository's Discussions, in GitHub's usual order.
GITHUB_CATEGORIES = ("Announcements", "General", "Ideas", "Q&A", "Show and tell")

# Telegram: "<bot id>:<35 characters>".
TELEGRAM_BOT_ID = 123456789
TELEGRAM_BOT_TOKEN = f"{TELEGRAM_BOT_ID}:AAsandbox-fake-token_0123456789abcd"
TELEGRAM_BOT_USERNAME = "sandbox_publisher_bot"
TELEGRAM_CHANNEL_ID = -1001234567890
TELEGRAM_CHANNEL_USERNAME = "sandbox_announcements"
TELEGRAM_CHANNEL_TITLE = "Sandbox Announcements"
# The channel's linked discussion group, where comments on posts live.
TELEGRAM_GROUP_ID = -1009876543210
TELEGRAM_GROUP_USERNAME = "sandbox_announcements_chat"
TELEGRAM_GROUP_TITLE = "Sandbox Announcements Chat"

# X: OAuth 1.0a consumer key/secret and access token/secret.
X_API_KEY = "sandboxXApiKey00000000000"
X_API_SECRET = "sandboxXApiSecret0000000000000000000000000000000000"
X_USER_ID = "1700000000000000001"
X_USERNAME = "sandbox_x_user"
X_ACCESS_TOKEN = f"{X_USER_ID}-sandboxAccessToken0000000000000"
X_ACCESS_SECRET = "sandboxAccessSecret00000000000000000000000000"

# Reddit: a "script" app and the account it acts as.
REDDIT_CLIENT_ID = "sandboxRedditApp0000aa"
REDDIT_CLIENT_SECRET = "sandbox-reddit-secret-00000000"
REDDIT_USERNAME = "sandbox_redditor"
REDDIT_PASSWORD = "sandbox-password-not-real"
REDDIT_SUBREDDIT = "sandboxtest"
REDDIT_USER_ID = "sbx1a"
# Subreddits that exist in the sandbox; any other name is SUBREDDIT_NOEXIST.
REDDIT_SUBREDDITS = (REDDIT_SUBREDDIT, "test", "sandbox")

# Discord: an incoming webhook "https://discord.com/api/webhooks/{id}/{token}".
DISCORD_WEBHOOK_ID = "1234567890123456789"
DISCORD_WEBHOOK_TOKEN = (
    "sandbox-fake-webhook-token-0123456789abcdefghijklmnopqrstuvwxyzABCDE")
DISCORD_GUILD_ID = "1111111111111111111"
DISCORD_CHANNEL_ID = "2222222222222222222"
DISCORD_WEBHOOK_NAME = "Sandbox Announcements"
