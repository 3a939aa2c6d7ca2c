<?php
/**
 * The editor's side: the block editor's "Social" panel (assets/panel.js) and the classic editor's meta box.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Enqueues the panel for handled post types, and adds, renders and saves the classic meta box.
 */
class WP_Social_Bot_Editor {

	const NONCE_ACTION = 'wp_social_bot_save';
	const NONCE_FIELD  = 'wp_social_bot_nonce';

	/**
	 * Hooks the editor parts in.
	 */
	public static function init() {
		add_action( 'enqueue_block_editor_assets', array( __CLASS__, 'enqueue_panel' ) );
		add_action( 'add_meta_boxes', array( __CLASS__, 'add_meta_box' ), 10, 1 );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'enqueue_classic' ) );
		add_action( 'save_post', array( __CLASS__, 'save_classic' ), 10, 2 );
	}

	/**
	 * The strings both scripts show, translated here so that one .mo serves PHP and JavaScript alike.
	 *
	 * @return array<string, mixed>
	 */
	public static function strings() {
		return array(
			'title'        => __( 'Social', 'wp-social-bot' ),
			'share'        => __( 'Share this post on the networks', 'wp-social-bot' ),
			'shareHelp'    => __( 'The bot posts it to every account once it is published.', 'wp-social-bot' ),
			'text'         => __( 'Custom text', 'wp-social-bot' ),
			'textHelp'     => __( 'Replaces the headline on every network; the bot fits it to each network\'s length. Leave empty to use the headline.', 'wp-social-bot' ),
			'breaking'     => __( 'Breaking news', 'wp-social-bot' ),
			'breakingHelp' => __( 'Sent first, with the breaking-news template and card.', 'wp-social-bot' ),
			'perNetwork'   => __( 'Text per network', 'wp-social-bot' ),
			'networkHelp'  => __( 'Leave empty to use the custom text above.', 'wp-social-bot' ),
			'whereItWent'  => __( 'Where it went', 'wp-social-bot' ),
			'refresh'      => __( 'Refresh', 'wp-social-bot' ),
			'notFound'     => __( 'The bot has not picked this post up yet.', 'wp-social-bot' ),
			'noAccounts'   => __( 'No account has this post.', 'wp-social-bot' ),
			'view'         => __( 'View the post', 'wp-social-bot' ),
			'error'        => __( 'Could not get the post\'s status from the bot.', 'wp-social-bot' ),
			'loading'      => __( 'Loading…', 'wp-social-bot' ),
			'afterPublish' => __( 'Shown once the post is published.', 'wp-social-bot' ),
			'states'       => array(
				'awaiting_approval' => __( 'Awaiting approval', 'wp-social-bot' ),
				'queued'            => __( 'Queued', 'wp-social-bot' ),
				'sending'           => __( 'Sending', 'wp-social-bot' ),
				'sent'              => __( 'Sent', 'wp-social-bot' ),
				'failed'            => __( 'Failed', 'wp-social-bot' ),
				'skipped'           => __( 'Skipped', 'wp-social-bot' ),
				'in_doubt'          => __( 'In doubt', 'wp-social-bot' ),
				'deleted'           => __( 'Deleted', 'wp-social-bot' ),
			),
			'platforms'    => WP_Social_Bot_Settings::platforms(),
		);
	}

	/**
	 * The block editor's panel, for handled post types only.
	 */
	public static function enqueue_panel() {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( ! $screen || ! WP_Social_Bot_Settings::handles( $screen->post_type ) ) {
			return;
		}
		$base = plugins_url( 'assets/', WP_SOCIAL_BOT_PLUGIN_FILE );
		wp_enqueue_script(
			'wp-social-bot-panel',
			$base . 'panel.js',
			array( 'wp-plugins', 'wp-edit-post', 'wp-editor', 'wp-element', 'wp-components', 'wp-data', 'wp-api-fetch' ),
			WP_SOCIAL_BOT_VERSION,
			true
		);
		wp_add_inline_script( 'wp-social-bot-panel', 'var wpSocialBot = ' . self::config() . ';', 'before' );
		wp_enqueue_style( 'wp-social-bot-panel', $base . 'panel.css', array(), WP_SOCIAL_BOT_VERSION );
	}

	/**
	 * The scripts' configuration, as JSON: strings, networks, handled post types. No secret, no bot address.
	 *
	 * @param int $post_id The post (classic editor), or 0.
	 * @return string
	 */
	private static function config( $post_id = 0 ) {
		$config = array(
			'postTypes' => WP_Social_Bot_Settings::post_types(),
			'strings'   => self::strings(),
			'maxText'   => WP_Social_Bot_Meta::MAX_TEXT,
		);
		if ( $post_id ) {
			$config['postId']    = (int) $post_id;
			$config['published'] = 'publish' === get_post_status( $post_id );
		}
		return (string) wp_json_encode( $config, JSON_HEX_TAG | JSON_HEX_AMP | JSON_UNESCAPED_UNICODE );
	}

	/**
	 * Adds the classic editor's meta box (the block editor has the panel instead).
	 *
	 * @param string $post_type The screen's post type.
	 */
	public static function add_meta_box( $post_type ) {
		if ( ! WP_Social_Bot_Settings::handles( $post_type ) ) {
			return;
		}
		add_meta_box(
			'wp-social-bot',
			__( 'Social', 'wp-social-bot' ),
			array( __CLASS__, 'render_meta_box' ),
			$post_type,
			'side',
			'high',
			array( '__back_compat_meta_box' => true )
		);
	}

	/**
	 * The classic editor's script, on its post screens.
	 *
	 * @param string $hook The admin page.
	 */
	public static function enqueue_classic( $hook ) {
		if ( 'post.php' !== $hook && 'post-new.php' !== $hook ) {
			return;
		}
		$screen = get_current_screen();
		$post   = get_post();
		if ( ! $screen || $screen->is_block_editor() || ! $post || ! WP_Social_Bot_Settings::handles( $screen->post_type ) ) {
			return;
		}
		$base = plugins_url( 'assets/', WP_SOCIAL_BOT_PLUGIN_FILE );
		wp_enqueue_script( 'wp-social-bot-classic', $base . 'classic.js', array( 'wp-api-fetch' ), WP_SOCIAL_BOT_VERSION, true );
		wp_add_inline_script( 'wp-social-bot-classic', 'var wpSocialBotClassic = ' . self::config( $post->ID ) . ';', 'before' );
		wp_enqueue_style( 'wp-social-bot-panel', $base . 'panel.css', array(), WP_SOCIAL_BOT_VERSION );
	}

	/**
	 * The classic meta box: the same fields as the panel, and the status list (filled in by classic.js).
	 *
	 * @param WP_Post $post The post.
	 */
	public static function render_meta_box( $post ) {
		$strings = self::strings();
		wp_nonce_field( self::NONCE_ACTION, self::NONCE_FIELD );
		echo '<div class="wp-social-bot-panel wp-social-bot-classic">';
		self::checkbox( 'wp-social-bot-share', 'wp_social_bot_share', (bool) get_post_meta( $post->ID, WP_Social_Bot_Meta::SHARE, true ), $strings['share'], $strings['shareHelp'] );
		self::textarea( 'wp-social-bot-text', 'wp_social_bot_text', (string) get_post_meta( $post->ID, WP_Social_Bot_Meta::TEXT, true ), $strings['text'], $strings['textHelp'] );
		self::checkbox( 'wp-social-bot-breaking', 'wp_social_bot_breaking', (bool) get_post_meta( $post->ID, WP_Social_Bot_Meta::BREAKING, true ), $strings['breaking'], $strings['breakingHelp'] );
		echo '<details class="wp-social-bot-networks"><summary>' . esc_html( $strings['perNetwork'] ) . '</summary>';
		foreach ( WP_Social_Bot_Settings::platforms() as $platform => $name ) {
			$key = WP_Social_Bot_Meta::text_key( $platform );
			self::textarea( 'wp-social-bot-text-' . $platform, $key, (string) get_post_meta( $post->ID, $key, true ), $name, '' );
		}
		echo '<p class="description">' . esc_html( $strings['networkHelp'] ) . '</p></details>';
		echo '<div class="wp-social-bot-where"><h4>' . esc_html( $strings['whereItWent'] ) . '</h4>';
		if ( 'publish' === $post->post_status ) {
			echo '<div class="wp-social-bot-error notice notice-error inline" hidden><p></p></div>';
			echo '<p class="wp-social-bot-message"></p><ul id="wp-social-bot-status" class="wp-social-bot-status"></ul>';
			echo '<button type="button" class="button wp-social-bot-refresh">' . esc_html( $strings['refresh'] ) . '</button>';
		} else {
			echo '<p class="description">' . esc_html( $strings['afterPublish'] ) . '</p>';
		}
		echo '</div></div>';
	}

	/**
	 * A checkbox with its label and help.
	 *
	 * @param string $id      The input's id.
	 * @param string $name    Its name.
	 * @param bool   $checked Whether ticked.
	 * @param string $label   Its label.
	 * @param string $help    Its help.
	 */
	private static function checkbox( $id, $name, $checked, $label, $help ) {
		printf(
			'<p><label for="%1$s"><input type="checkbox" id="%1$s" name="%2$s" value="1" aria-describedby="%1$s-help"%3$s> %4$s</label><br><span id="%1$s-help" class="description">%5$s</span></p>',
			esc_attr( $id ),
			esc_attr( $name ),
			checked( $checked, true, false ),
			esc_html( $label ),
			esc_html( $help )
		);
	}

	/**
	 * A textarea with its label and help.
	 *
	 * @param string $id    The textarea's id.
	 * @param string $name  Its name.
	 * @param string $value Its text.
	 * @param string $label Its label.
	 * @param string $help  Its help ('' for none).
	 */
	private static function textarea( $id, $name, $value, $label, $help ) {
		printf(
			'<p><label for="%1$s">%4$s</label><textarea id="%1$s" name="%2$s" rows="3" class="widefat" maxlength="%5$d">%3$s</textarea>',
			esc_attr( $id ),
			esc_attr( $name ),
			esc_textarea( $value ),
			esc_html( $label ),
			(int) WP_Social_Bot_Meta::MAX_TEXT
		);
		if ( '' !== $help ) {
			echo '<span class="description">' . esc_html( $help ) . '</span>';
		}
		echo '</p>';
	}

	/**
	 * Saves the classic meta box (save_post fires before wp_after_insert_post, so the notice sees the choices).
	 *
	 * @param int     $post_id The post.
	 * @param WP_Post $post    The post.
	 */
	public static function save_classic( $post_id, $post ) {
		if ( ( defined( 'DOING_AUTOSAVE' ) && DOING_AUTOSAVE ) || wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id ) ) {
			return;
		}
		if ( ! isset( $_POST[ self::NONCE_FIELD ] ) || ! wp_verify_nonce( sanitize_text_field( wp_unslash( $_POST[ self::NONCE_FIELD ] ) ), self::NONCE_ACTION ) ) {
			return;
		}
		if ( ! $post instanceof WP_Post || ! WP_Social_Bot_Settings::handles( $post->post_type ) || ! current_user_can( 'edit_post', $post_id ) ) {
			return;
		}
		update_post_meta( $post_id, WP_Social_Bot_Meta::SHARE, ! empty( $_POST['wp_social_bot_share'] ) );
		update_post_meta( $post_id, WP_Social_Bot_Meta::BREAKING, ! empty( $_POST['wp_social_bot_breaking'] ) );
		$keys = array( WP_Social_Bot_Meta::TEXT );
		foreach ( array_keys( WP_Social_Bot_Settings::platforms() ) as $platform ) {
			$keys[] = WP_Social_Bot_Meta::text_key( $platform );
		}
		foreach ( $keys as $key ) {
			$text = isset( $_POST[ $key ] ) ? WP_Social_Bot_Meta::sanitize_text( wp_unslash( $_POST[ $key ] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- sanitized by sanitize_text().
			if ( '' === $text ) {
				delete_post_meta( $post_id, $key );
			} else {
				update_post_meta( $post_id, $key, $text );
			}
		}
	}
}
