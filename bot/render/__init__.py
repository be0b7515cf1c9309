"""Pure rendering: data in, embeds and text out. Nothing here talks to Discord or the store."""
