<?php
/**
 * Settings → Social bot: the bot's address, the shared secret, the share default, a connection test and the last
 * failed notice.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * The settings page (Settings API, manage_options).
 */
class WP_Social_Bot_Settings_Page {

	const SLUG  = 'wp-social-bot';
	const GROUP = 'wp_social_bot';
	const TEST  = 'wp_social_bot_test';

	/**
	 * The connection test's outcome in this request: array( 'ok' => bool, 'message' => string ), or null.
	 *
	 * @var array{ok: bool, message: string}|null
	 */
	private static $test = null;

	/**
	 * Hooks the page in.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( WP_SOCIAL_BOT_PLUGIN_FILE ), array( __CLASS__, 'action_links' ) );
	}

	/**
	 * Adds Settings → Social bot.
	 */
	public static function menu() {
		$hook = add_options_page( __( 'Social bot', 'wp-social-bot' ), __( 'Social bot', 'wp-social-bot' ), 'manage_options', self::SLUG, array( __CLASS__, 'render' ) );
		if ( $hook ) {
			add_action( 'load-' . $hook, array( __CLASS__, 'maybe_test' ) );
		}
	}

	/**
	 * A "Settings" link on the Plugins screen.
	 *
	 * @param string[] $links The plugin's links.
	 * @return string[]
	 */
	public static function action_links( $links ) {
		$url = admin_url( 'options-general.php?page=' . self::SLUG );
		array_unshift( $links, '<a href="' . esc_url( $url ) . '">' . esc_html__( 'Settings', 'wp-social-bot' ) . '</a>' );
		return $links;
	}

	/**
	 * Registers the options and the page's fields.
	 */
	public static function register() {
		register_setting(
			self::GROUP,
			WP_Social_Bot_Settings::OPTION_URL,
			array(
				'type'              => 'string',
				'default'           => '',
				'sanitize_callback' => array( __CLASS__, 'sanitize_url' ),
			)
		);
		register_setting(
			self::GROUP,
			WP_Social_Bot_Settings::OPTION_SECRET,
			array(
				'type'              => 'string',
				'default'           => '',
				'sanitize_callback' => array( __CLASS__, 'sanitize_secret' ),
			)
		);
		register_setting(
			self::GROUP,
			WP_Social_Bot_Settings::OPTION_SHARE,
			array(
				'type'              => 'boolean',
				'default'           => true,
				'sanitize_callback' => array( __CLASS__, 'sanitize_share' ),
			)
		);
		add_settings_section( 'wp_social_bot_main', __( 'The bot', 'wp-social-bot' ), '__return_false', self::SLUG );
		add_settings_field( 'wp-social-bot-url', __( 'The bot\'s address', 'wp-social-bot' ), array( __CLASS__, 'field_url' ), self::SLUG, 'wp_social_bot_main', array( 'label_for' => 'wp-social-bot-url' ) );
		add_settings_field( 'wp-social-bot-secret', __( 'Shared secret', 'wp-social-bot' ), array( __CLASS__, 'field_secret' ), self::SLUG, 'wp_social_bot_main', array( 'label_for' => 'wp-social-bot-secret' ) );
		add_settings_field( 'wp-social-bot-share-default', __( 'New posts', 'wp-social-bot' ), array( __CLASS__, 'field_share' ), self::SLUG, 'wp_social_bot_main', array( 'label_for' => 'wp-social-bot-share-default' ) );
	}

	/**
	 * The address as stored: http or https only, no trailing slash; anything else is refused (the old value stays).
	 *
	 * @param mixed $value What was submitted.
	 * @return string
	 */
	public static function sanitize_url( $value ) {
		$old = get_option( WP_Social_Bot_Settings::OPTION_URL, '' );
		$old = is_string( $old ) ? $old : '';
		if ( WP_Social_Bot_Settings::url_is_constant() || ! is_string( $value ) ) {
			return $old;
		}
		$clean = WP_Social_Bot_Settings::clean_url( $value );
		if ( null === $clean ) {
			add_settings_error( WP_Social_Bot_Settings::OPTION_URL, 'wp_social_bot_url', __( 'The bot\'s address must be an http:// or https:// address, such as https://bot.example.com. It was not changed.', 'wp-social-bot' ) );
			return $old;
		}
		return $clean;
	}

	/**
	 * The secret as stored: an empty submission keeps the stored one.
	 *
	 * @param mixed $value What was submitted.
	 * @return string
	 */
	public static function sanitize_secret( $value ) {
		$old = get_option( WP_Social_Bot_Settings::OPTION_SECRET, '' );
		$old = is_string( $old ) ? $old : '';
		if ( WP_Social_Bot_Settings::secret_is_constant() || ! is_string( $value ) ) {
			return $old;
		}
		$value = trim( (string) preg_replace( '/[\x00-\x1F\x7F]/', '', $value ) );
		return '' === $value ? $old : $value;
	}

	/**
	 * The share default as stored.
	 *
	 * @param mixed $value What was submitted (absent when unticked).
	 * @return bool
	 */
	public static function sanitize_share( $value ) {
		return (bool) rest_sanitize_boolean( is_scalar( $value ) ? $value : false );
	}

	/**
	 * The address field (read-only when set in wp-config.php).
	 */
	public static function field_url() {
		if ( WP_Social_Bot_Settings::url_is_constant() ) {
			echo '<input type="url" id="wp-social-bot-url" class="regular-text code" readonly value="' . esc_attr( WP_Social_Bot_Settings::url() ) . '">';
			echo '<p class="description">' . esc_html__( 'Set in wp-config.php (WP_SOCIAL_BOT_URL).', 'wp-social-bot' ) . '</p>';
			return;
		}
		$value = get_option( WP_Social_Bot_Settings::OPTION_URL, '' );
		echo '<input type="url" id="wp-social-bot-url" name="' . esc_attr( WP_Social_Bot_Settings::OPTION_URL ) . '" class="regular-text code" placeholder="https://bot.example.com" value="' . esc_attr( is_string( $value ) ? $value : '' ) . '">';
		echo '<p class="description">' . esc_html__( 'The bot\'s base address (http or https). The plugin adds /wordpress/notice and /wordpress/status.', 'wp-social-bot' ) . '</p>';
	}

	/**
	 * The secret field: never shows the stored value.
	 */
	public static function field_secret() {
		if ( WP_Social_Bot_Settings::secret_is_constant() ) {
			echo '<p id="wp-social-bot-secret">' . esc_html__( 'Set in wp-config.php (WP_SOCIAL_BOT_SECRET).', 'wp-social-bot' ) . '</p>';
			return;
		}
		$set = '' !== WP_Social_Bot_Settings::secret();
		echo '<input type="password" id="wp-social-bot-secret" name="' . esc_attr( WP_Social_Bot_Settings::OPTION_SECRET ) . '" class="regular-text" value="" autocomplete="new-password" aria-describedby="wp-social-bot-secret-state">';
		echo '<p class="description" id="wp-social-bot-secret-state">';
		echo $set ? esc_html__( 'Set. Leave empty to keep it.', 'wp-social-bot' ) : esc_html__( 'Not set.', 'wp-social-bot' );
		echo ' ' . esc_html__( 'The same secret as the bot\'s server.plugin_secret.', 'wp-social-bot' ) . '</p>';
	}

	/**
	 * The share default field.
	 */
	public static function field_share() {
		echo '<label><input type="checkbox" id="wp-social-bot-share-default" name="' . esc_attr( WP_Social_Bot_Settings::OPTION_SHARE ) . '" value="1"' . checked( WP_Social_Bot_Settings::share_default(), true, false ) . '> ';
		echo esc_html__( 'Share new posts by default', 'wp-social-bot' ) . '</label>';
		echo '<p class="description">' . esc_html__( 'Editors can still choose for each post.', 'wp-social-bot' ) . '</p>';
	}

	/**
	 * Runs the connection test when its form was sent (before the page is drawn).
	 */
	public static function maybe_test() {
		if ( ! isset( $_POST[ self::TEST ] ) ) {
			return;
		}
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to do that.', 'wp-social-bot' ), 403 );
		}
		check_admin_referer( self::TEST );
		$answer     = WP_Social_Bot_Status::ask( 0, '' );
		self::$test = is_wp_error( $answer )
			? array(
				'ok'      => false,
				'message' => $answer->get_error_message(),
			)
			: array(
				'ok'      => true,
				'message' => __( 'Connected: the bot answered and accepted the signature.', 'wp-social-bot' ),
			);
	}

	/**
	 * The page.
	 */
	public static function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		echo '<div class="wrap"><h1>' . esc_html( get_admin_page_title() ) . '</h1>';
		echo '<form action="options.php" method="post">';
		settings_fields( self::GROUP );
		do_settings_sections( self::SLUG );
		submit_button();
		echo '</form>';

		echo '<h2>' . esc_html__( 'Connection', 'wp-social-bot' ) . '</h2>';
		if ( null !== self::$test ) {
			printf(
				'<div id="wp-social-bot-test-result" class="notice inline %1$s"><p>%2$s</p></div>',
				esc_attr( self::$test['ok'] ? 'notice-success' : 'notice-error' ),
				esc_html( self::$test['message'] )
			);
		}
		echo '<form method="post" action="' . esc_url( admin_url( 'options-general.php?page=' . self::SLUG ) ) . '">';
		wp_nonce_field( self::TEST );
		submit_button( __( 'Test connection', 'wp-social-bot' ), 'secondary', self::TEST, false );
		echo '</form>';

		echo '<h2>' . esc_html__( 'Last failed notice', 'wp-social-bot' ) . '</h2>';
		$failure = WP_Social_Bot_Settings::last_failure();
		if ( null === $failure ) {
			echo '<p id="wp-social-bot-last-failure">' . esc_html__( 'None.', 'wp-social-bot' ) . '</p>';
		} else {
			printf(
				'<p id="wp-social-bot-last-failure"><time datetime="%1$s">%2$s</time>: %3$s</p>',
				esc_attr( gmdate( 'c', $failure['time'] ) ),
				esc_html( wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $failure['time'] ) ),
				esc_html( $failure['message'] )
			);
		}
		echo '</div>';
	}
}
