<?php
/**
 * The plugin's settings: its options, the wp-config.php constants that win over them, and the handled post types.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reads the bot's address, the shared secret and the "share new posts by default" choice.
 *
 * The constants WP_SOCIAL_BOT_URL and WP_SOCIAL_BOT_SECRET, when defined in wp-config.php, win over the options.
 */
class WP_Social_Bot_Settings {

	const OPTION_URL     = 'wp_social_bot_url';
	const OPTION_SECRET  = 'wp_social_bot_secret';
	const OPTION_SHARE   = 'wp_social_bot_share_default';
	const OPTION_FAILURE = 'wp_social_bot_last_failure';

	/**
	 * Every option the plugin stores (uninstall.php deletes them).
	 *
	 * @return string[]
	 */
	public static function options() {
		return array( self::OPTION_URL, self::OPTION_SECRET, self::OPTION_SHARE, self::OPTION_FAILURE );
	}

	/**
	 * Whether the address is fixed in wp-config.php.
	 *
	 * @return bool
	 */
	public static function url_is_constant() {
		return defined( 'WP_SOCIAL_BOT_URL' );
	}

	/**
	 * Whether the secret is fixed in wp-config.php.
	 *
	 * @return bool
	 */
	public static function secret_is_constant() {
		return defined( 'WP_SOCIAL_BOT_SECRET' );
	}

	/**
	 * The bot's base URL without a trailing slash, or '' when none (or an unusable one) is set.
	 *
	 * @return string
	 */
	public static function url() {
		$raw   = self::url_is_constant() ? constant( 'WP_SOCIAL_BOT_URL' ) : get_option( self::OPTION_URL, '' );
		$clean = self::clean_url( is_string( $raw ) ? $raw : '' );
		return null === $clean ? '' : $clean;
	}

	/**
	 * The shared secret, or '' when none is set. Never shown, never sent anywhere but into the signature.
	 *
	 * @return string
	 */
	public static function secret() {
		$raw = self::secret_is_constant() ? constant( 'WP_SOCIAL_BOT_SECRET' ) : get_option( self::OPTION_SECRET, '' );
		return is_string( $raw ) ? trim( $raw ) : '';
	}

	/**
	 * Whether both the address and the secret are set.
	 *
	 * @return bool
	 */
	public static function configured() {
		return '' !== self::url() && '' !== self::secret();
	}

	/**
	 * Whether new posts are shared unless the editor says otherwise (default: yes).
	 *
	 * @return bool
	 */
	public static function share_default() {
		return (bool) rest_sanitize_boolean( get_option( self::OPTION_SHARE, true ) );
	}

	/**
	 * The post types the plugin handles (filter wp_social_bot_post_types; default: post).
	 *
	 * @return string[]
	 */
	public static function post_types() {
		$types = apply_filters( 'wp_social_bot_post_types', array( 'post' ) );
		if ( ! is_array( $types ) ) {
			return array( 'post' );
		}
		return array_values( array_unique( array_filter( array_map( 'sanitize_key', array_filter( $types, 'is_string' ) ) ) ) );
	}

	/**
	 * Whether a post type is handled.
	 *
	 * @param string $post_type A post type's name.
	 * @return bool
	 */
	public static function handles( $post_type ) {
		return is_string( $post_type ) && in_array( $post_type, self::post_types(), true );
	}

	/**
	 * The networks that take a text of their own (wp_social_bot_text_<platform>), with their names.
	 *
	 * @return array<string, string>
	 */
	public static function platforms() {
		return array(
			'x'         => __( 'X', 'wp-social-bot' ),
			'telegram'  => __( 'Telegram', 'wp-social-bot' ),
			'facebook'  => __( 'Facebook', 'wp-social-bot' ),
			'mastodon'  => __( 'Mastodon', 'wp-social-bot' ),
			'bluesky'   => __( 'Bluesky', 'wp-social-bot' ),
			'threads'   => __( 'Threads', 'wp-social-bot' ),
			'instagram' => __( 'Instagram', 'wp-social-bot' ),
			'discord'   => __( 'Discord', 'wp-social-bot' ),
		);
	}

	/**
	 * An address cleaned for use: http or https with a host, no user or password in it, no trailing slash.
	 * '' for an empty value; null for one that is refused.
	 *
	 * @param string $value What was entered.
	 * @return string|null
	 */
	public static function clean_url( $value ) {
		$value = trim( (string) $value );
		if ( '' === $value ) {
			return '';
		}
		$parts = wp_parse_url( $value );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) || empty( $parts['scheme'] ) ) {
			return null;
		}
		if ( ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) ) {
			return null;
		}
		if ( isset( $parts['user'] ) || isset( $parts['pass'] ) || isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
			return null;
		}
		$clean = esc_url_raw( $value, array( 'http', 'https' ) );
		if ( '' === $clean || $clean !== $value ) {
			return null;
		}
		return untrailingslashit( $clean );
	}

	/**
	 * Remembers a failed notice (shown on the settings page) and logs it in one line.
	 *
	 * @param string $message What went wrong (never the secret).
	 */
	public static function record_failure( $message ) {
		$message = mb_substr( sanitize_text_field( $message ), 0, 300 );
		error_log( 'WP Social Bot: ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
		update_option(
			self::OPTION_FAILURE,
			array(
				'time'    => time(),
				'message' => $message,
			),
			false
		);
	}

	/**
	 * The last failed notice, or null.
	 *
	 * @return array{time: int, message: string}|null
	 */
	public static function last_failure() {
		$failure = get_option( self::OPTION_FAILURE, null );
		if ( ! is_array( $failure ) || ! isset( $failure['time'], $failure['message'] ) ) {
			return null;
		}
		return array(
			'time'    => (int) $failure['time'],
			'message' => (string) $failure['message'],
		);
	}
}
