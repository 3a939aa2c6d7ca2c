<?php
/**
 * The per-post choices the bot reads: register_post_meta for every handled post type.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers wp_social_bot_share, wp_social_bot_text, wp_social_bot_breaking and wp_social_bot_text_<platform>,
 * shown in the REST API's edit context only (the public view context never carries them).
 */
class WP_Social_Bot_Meta {

	const SHARE    = 'wp_social_bot_share';
	const TEXT     = 'wp_social_bot_text';
	const BREAKING = 'wp_social_bot_breaking';

	/** The longest custom text kept (characters). */
	const MAX_TEXT = 1000;

	/**
	 * Hooks the registration in.
	 */
	public static function init() {
		add_action( 'init', array( __CLASS__, 'register' ), 20 );
		add_action( 'wp_after_insert_post', array( __CLASS__, 'pin_share_default' ), 5, 2 );
		add_filter( 'rest_prepare_post', array( __CLASS__, 'hide_from_view' ), 10, 3 );
	}

	/**
	 * The meta key of a network's own text.
	 *
	 * @param string $platform E.g. 'x'.
	 * @return string
	 */
	public static function text_key( $platform ) {
		return self::TEXT . '_' . $platform;
	}

	/**
	 * Every meta key the plugin registers.
	 *
	 * @return string[]
	 */
	public static function keys() {
		$keys = array( self::SHARE, self::TEXT, self::BREAKING );
		foreach ( array_keys( WP_Social_Bot_Settings::platforms() ) as $platform ) {
			$keys[] = self::text_key( $platform );
		}
		return $keys;
	}

	/**
	 * Registers the meta for each handled post type.
	 */
	public static function register() {
		$share_default = WP_Social_Bot_Settings::share_default();
		foreach ( WP_Social_Bot_Settings::post_types() as $post_type ) {
			self::register_one( $post_type, self::SHARE, 'boolean', $share_default );
			self::register_one( $post_type, self::TEXT, 'string', '' );
			self::register_one( $post_type, self::BREAKING, 'boolean', false );
			foreach ( array_keys( WP_Social_Bot_Settings::platforms() ) as $platform ) {
				self::register_one( $post_type, self::text_key( $platform ), 'string', '' );
			}
			if ( 'post' !== $post_type ) {
				add_filter( 'rest_prepare_' . $post_type, array( __CLASS__, 'hide_from_view' ), 10, 3 );
			}
		}
	}

	/**
	 * Registers one meta key.
	 *
	 * @param string      $post_type The post type.
	 * @param string      $key       The meta key.
	 * @param string      $type      'boolean' or 'string'.
	 * @param bool|string $default   Its default.
	 */
	private static function register_one( $post_type, $key, $type, $default ) {
		register_post_meta(
			$post_type,
			$key,
			array(
				'type'              => $type,
				'single'            => true,
				'default'           => $default,
				'sanitize_callback' => 'boolean' === $type ? array( __CLASS__, 'sanitize_flag' ) : array( __CLASS__, 'sanitize_text' ),
				'auth_callback'     => array( __CLASS__, 'can_edit' ),
				'show_in_rest'      => array(
					'schema' => array(
						'type'    => $type,
						'context' => array( 'edit' ),
					),
				),
			)
		);
	}

	/**
	 * A custom text as kept: plain text, line breaks kept, at most MAX_TEXT characters.
	 *
	 * @param mixed $value What was sent.
	 * @return string
	 */
	public static function sanitize_text( $value ) {
		if ( ! is_scalar( $value ) ) {
			return '';
		}
		return mb_substr( sanitize_textarea_field( (string) $value ), 0, self::MAX_TEXT );
	}

	/**
	 * A yes/no as kept.
	 *
	 * @param mixed $value What was sent.
	 * @return bool
	 */
	public static function sanitize_flag( $value ) {
		return (bool) rest_sanitize_boolean( is_scalar( $value ) ? $value : false );
	}

	/**
	 * Who may change the meta: whoever may edit the post.
	 *
	 * @param bool   $allowed Whether allowed so far.
	 * @param string $key     The meta key.
	 * @param int    $post_id The post.
	 * @return bool
	 */
	public static function can_edit( $allowed, $key, $post_id ) {
		return current_user_can( 'edit_post', (int) $post_id );
	}

	/**
	 * Stores the share default on a post that has no choice stored yet, so that changing the default later does
	 * not change what was decided for the posts already written. (The REST API skips saving a value equal to the
	 * default, which would otherwise leave such posts following the setting.)
	 *
	 * @param int     $post_id The post.
	 * @param WP_Post $post    The post as saved.
	 */
	public static function pin_share_default( $post_id, $post ) {
		if ( ! $post instanceof WP_Post || ! WP_Social_Bot_Settings::handles( $post->post_type ) ) {
			return;
		}
		if ( 'auto-draft' === $post->post_status || wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id ) ) {
			return;
		}
		if ( ! metadata_exists( 'post', $post_id, self::SHARE ) ) {
			update_post_meta( $post_id, self::SHARE, WP_Social_Bot_Settings::share_default() );
		}
	}

	/**
	 * Removes the plugin's meta from any REST answer not in the edit context. In WordPress 6.1 the schema's
	 * 'context' => array( 'edit' ) already does this (rest_filter_response_by_context walks into meta's
	 * properties); this filter is a second lock, should another plugin widen the schema.
	 *
	 * @param WP_REST_Response $response The answer.
	 * @param WP_Post          $post     The post.
	 * @param WP_REST_Request  $request  The request.
	 * @return WP_REST_Response
	 */
	public static function hide_from_view( $response, $post, $request ) {
		if ( ! $response instanceof WP_REST_Response || 'edit' === $request['context'] ) {
			return $response;
		}
		$data = $response->get_data();
		if ( is_array( $data ) && isset( $data['meta'] ) && is_array( $data['meta'] ) ) {
			foreach ( self::keys() as $key ) {
				unset( $data['meta'][ $key ] );
			}
			$response->set_data( $data );
		}
		return $response;
	}
}
