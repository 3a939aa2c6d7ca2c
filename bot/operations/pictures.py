"""What picture a post would carry, for the previews (``bot preview``, ``bot post --dry-run``, the console's
compose page): the article's image by its address, or the headline card, drawn now into the card cache
(``data_dir/cards``, the same file the post will upload) so that a person can look at it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import AccountConfig
from bot.core import Bot
from bot.models import Article


@dataclass(frozen=True)
class PicturePreview:
    """The picture a post would carry."""

    kind: str  #: article | card
    where: str  #: the article's image's address, or the card's file (a path)

    def __str__(self) -> str:
        return f"{'card' if self.kind == 'card' else 'image'}: {self.where}"


def image_mode(account: AccountConfig) -> str:
    """The account's ``image:`` mode as its posts use it: none where its posts carry no picture (a Bluesky
    account without its link card, a Discord account without its embed, a console account)."""
    if getattr(account, "link_card", True) is False or getattr(account, "embed", True) is False:
        return "none"
    return str(getattr(account, "image", "none"))


def preview_picture(bot: Bot, account: AccountConfig, article: Article) -> PicturePreview | None:
    """The picture ``account``'s post of ``article`` would carry: the article's first image candidate (the
    post itself also looks for the page's og:image when there is none), or the card, drawn now (its photo
    downloaded with the posts' limits). None: no picture (or a card that cannot be drawn, as logged)."""
    from bot.platforms.base import Post

    mode = image_mode(account)
    candidates = tuple(dict.fromkeys(u for u in (article.featured_image, *article.image_urls) if u))
    if mode == "none" or (mode == "article" and not candidates):
        return None
    if mode in ("article", "article_or_card") and candidates:
        return PicturePreview("article", candidates[0])
    post = Post(0, "", article.link, article.title, candidates, labels=tuple(dict.fromkeys(
        (*article.category_names, *article.tag_names))))
    pictures = bot.pictures
    photo = None
    if candidates and pictures.cards.photo:
        from bot.errors import MediaError
        from bot.media import find_image

        try:
            photo = find_image(candidates, article.link, session=bot.session("pages"), timeout=10.0,
                               user_agent=bot.config.agent).data
        except MediaError:
            photo = None
    size = str(getattr(account, "card_size", "landscape"))
    card = pictures.card(post, size, photo, context=f"preview account={account.id}")
    if card is None:
        return None
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    return PicturePreview("card", url2pathname(urlsplit(card.url).path) if card.url.startswith("file:") else card.url)
