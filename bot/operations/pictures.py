"""What picture a post would carry, for the previews (``bot preview``, ``bot post --dry-run``, the console's
compose page): the article's image by its address, or the headline card, drawn now into the card cache
(``data_dir/cards``, the same file the post will upload) so that a person can look at it. Chosen and found by
the code the posts use, so a preview shows what will go."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import AccountConfig
from bot.core import Bot
from bot.media import Image
from bot.models import Article

log = logging.getLogger("bot.operations")


@dataclass(frozen=True)
class PicturePreview:
    """The picture a post would carry."""

    kind: str  #: article | card
    where: str  #: the article's image's address, or the card's file (a path)

    def __str__(self) -> str:
        return f"{'card' if self.kind == 'card' else 'image'}: {self.where}"


def preview_picture(bot: Bot, account: AccountConfig, article: Article, text: str) -> PicturePreview | None:
    """The picture ``account``'s post of ``article`` with ``text`` would carry, chosen as its publisher chooses
    (its ``picture_mode``: a Telegram text too long for a caption, a Bluesky or Discord post without a link
    carry none) and found as the post finds it (:meth:`bot.pictures.Pictures.image`: the same candidates, the
    page's og:image, the same limits; a card drawn now into the card cache). None: no picture."""
    from bot.platforms.base import Post

    publisher = bot.publisher_for(account)
    candidates = article.images
    post = Post(0, text, article.link, article.title, candidates, article.excerpt or article.summary,
                labels=article.names)
    own = getattr(publisher, "picture", None)  # a publisher that chooses further (Instagram: the shapes it takes)
    if callable(own):
        try:
            return _shown(own(post))
        except Exception as exc:  # its post would fail the same way, saying why
            log.info("preview account=%s: no picture: %s", account.id, exc)
            return None
    choose = getattr(publisher, "picture_mode", None)
    mode = choose(post) if callable(choose) else str(getattr(account, "image", "none"))
    if mode == "none":
        return None
    if getattr(publisher, "picture_by_address", False) and mode in ("article", "article_or_card"):
        linked = next((u for u in candidates if u.lower().startswith(("https://", "http://"))), None)
        if linked is not None or mode == "article":
            return None if linked is None else PicturePreview("article", linked)
        mode = "card"
    try:
        image = bot.pictures.image(post, mode, str(getattr(account, "card_size", "landscape")),
                                   session=bot.session("pages"), timeout=10.0, user_agent=bot.config.agent,
                                   account_id=account.id)
    except Exception as exc:  # a preview shows what it can; the post itself never fails on its picture
        log.warning("preview account=%s: its picture could not be had: %s", account.id, exc)
        return None
    return _shown(image)


def _shown(image: Image | None) -> PicturePreview | None:
    """How a picture is shown: the article's image by its address, a card by its file."""
    if image is None:
        return None
    return PicturePreview("card", image.shown) if image.card else PicturePreview("article", image.url)
