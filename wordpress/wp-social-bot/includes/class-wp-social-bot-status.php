<?php
/**
 * The REST route behind the editor's "Where it went": GET /wp-json/wp-social-bot/v1/status/<id>.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Asks the bot (a signed POST <bot>/wordpress/status) where a post went, and passes on only the known fields,
 * cast and cut to size. The secret stays on the server.
 */
class WP_Social_Bot_Status {

	/** Seconds the bot may take. */
	const TIMEOUT = 5;

	/** The states an account's post can be in. */
	const STATES = array( 'awaiting_approval', 'queued', 'sending', 'sent', 'failed', 'skipped', 'in_doubt', 'deleted' );

	/** At most this many accounts are passed on. */
	const MAX_ACCOUNTS = 100;

	/**
	 * Hooks the route in.
	 */
	public static function init() {
		add_action( 'rest_api_init', array( __CLASS__, 'register' ) );
	}

	/**
	 * Registers the route.
	 */
	public static function register() {
		register_rest_route(
			'wp-social-bot/v1',
			'/status/(?P<id>\d+)',
			array(
				'methods'             => WP_REST_Server::READABLE,
				'callback'            => array( __CLASS__, 'answer' ),
				'permission_callback' => array( __CLASS__, 'permission' ),
				'args'                => array(
					'id' => array(
						'type'              => 'integer',
						'minimum'           => 1,
						'sanitize_callback' => 'absint',
					),
				),
			)
		);
	}

	/**
	 * Only who may edit the post may see where it went.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return bool
	 */
	public static function permission( $request ) {
		return current_user_can( 'edit_post', (int) $request['id'] );
	}

	/**
	 * The route's answer.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function answer( $request ) {
		$post = get_post( (int) $request['id'] );
		if ( ! $post instanceof WP_Post || ! WP_Social_Bot_Settings::handles( $post->post_type ) ) {
			return new WP_Error( 'wp_social_bot_no_post', __( 'The bot does not handle this post.', 'wp-social-bot' ), array( 'status' => 404 ) );
		}
		$link   = get_permalink( $post );
		$status = self::ask( $post->ID, is_string( $link ) ? $link : '' );
		if ( is_wp_error( $status ) ) {
			return new WP_Error( $status->get_error_code(), $status->get_error_message(), array( 'status' => 502 ) );
		}
		return rest_ensure_response( $status );
	}

	/**
	 * Asks the bot about a post (post ID 0 and url '': a connection test).
	 *
	 * @param int    $post_id The post.
	 * @param string $url     Its address.
	 * @return array|WP_Error The cleaned answer, or why there is none.
	 */
	public static function ask( $post_id, $url ) {
		if ( ! WP_Social_Bot_Settings::configured() ) {
			return new WP_Error( 'wp_social_bot_not_configured', __( 'The social bot is not set up yet (its address or the shared secret is missing).', 'wp-social-bot' ) );
		}
		$answer = WP_Social_Bot_Client::post(
			'/wordpress/status',
			array(
				'post_id' => (int) $post_id,
				'url'     => (string) $url,
			),
			self::TIMEOUT
		);
		$failure = WP_Social_Bot_Client::failure( $answer );
		if ( '' !== $failure ) {
			return new WP_Error( 'wp_social_bot_bot_failed', $failure );
		}
		$data = strlen( $answer['body'] ) < WP_Social_Bot_Client::MAX_ANSWER ? json_decode( $answer['body'], true ) : null;
		if ( ! is_array( $data ) ) {
			return new WP_Error( 'wp_social_bot_bad_answer', __( 'The bot\'s answer could not be read.', 'wp-social-bot' ) );
		}
		return self::clean( $data, (int) $post_id );
	}

	/**
	 * Only the known fields of the bot's answer, cast and cut to size.
	 *
	 * @param array $data    The decoded answer.
	 * @param int   $post_id The post asked about.
	 * @return array
	 */
	public static function clean( array $data, $post_id ) {
		$accounts = array();
		$given    = isset( $data['accounts'] ) && is_array( $data['accounts'] ) ? $data['accounts'] : array();
		foreach ( array_slice( array_values( $given ), 0, self::MAX_ACCOUNTS ) as $account ) {
			if ( ! is_array( $account ) ) {
				continue;
			}
			$accounts[] = array(
				'account'  => self::text( $account, 'account', 100 ),
				'platform' => self::text( $account, 'platform', 40 ),
				'state'    => self::text( $account, 'state', 40 ),
				'reason'   => self::text_or_null( $account, 'reason', 500 ),
				'url'      => self::link( $account ),
				'at'       => self::text_or_null( $account, 'at', 40 ),
			);
		}
		return array(
			'post_id'  => $post_id,
			'found'    => ! empty( $data['found'] ) && true === rest_sanitize_boolean( $data['found'] ),
			'title'    => self::text( $data, 'title', 300 ),
			'accounts' => $accounts,
		);
	}

	/**
	 * A field as a plain string of at most $max characters ('' when absent or not a scalar).
	 *
	 * @param array  $from Where.
	 * @param string $key  Which field.
	 * @param int    $max  Characters.
	 * @return string
	 */
	private static function text( array $from, $key, $max ) {
		if ( ! isset( $from[ $key ] ) || ! is_scalar( $from[ $key ] ) || is_bool( $from[ $key ] ) ) {
			return '';
		}
		return mb_substr( sanitize_text_field( (string) $from[ $key ] ), 0, $max );
	}

	/**
	 * Like text(), but null when absent or empty.
	 *
	 * @param array  $from Where.
	 * @param string $key  Which field.
	 * @param int    $max  Characters.
	 * @return string|null
	 */
	private static function text_or_null( array $from, $key, $max ) {
		$text = self::text( $from, $key, $max );
		return '' === $text ? null : $text;
	}

	/**
	 * An account's link: an http or https address, else null.
	 *
	 * @param array $account The account's fields.
	 * @return string|null
	 */
	private static function link( array $account ) {
		if ( ! isset( $account['url'] ) || ! is_string( $account['url'] ) || strlen( $account['url'] ) > 2000 ) {
			return null;
		}
		$scheme = wp_parse_url( $account['url'], PHP_URL_SCHEME );
		if ( ! is_string( $scheme ) || ! in_array( strtolower( $scheme ), array( 'http', 'https' ), true ) ) {
			return null;
		}
		$clean = esc_url_raw( $account['url'], array( 'http', 'https' ) );
		return '' === $clean ? null : $clean;
	}
}
